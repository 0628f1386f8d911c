// The compatibility matrix's row for fetch: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { fetchClient } from './clients.ts';

runMatrix(fetchClient);
