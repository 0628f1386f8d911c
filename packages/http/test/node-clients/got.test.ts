// The compatibility matrix's row for got: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { gotClient } from './clients.ts';

runMatrix(gotClient);
