// The compatibility matrix's row for undici: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { undiciClient } from './clients.ts';

runMatrix(undiciClient());
