// The compatibility matrix's row for http-request: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { httpRequestClient } from './clients.ts';

runMatrix(httpRequestClient);
