// The compatibility matrix's row for node-fetch: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { nodeFetchClient } from './clients.ts';

runMatrix(nodeFetchClient);
