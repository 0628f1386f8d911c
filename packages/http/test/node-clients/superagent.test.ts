// The compatibility matrix's row for superagent: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { superagentClient } from './clients.ts';

runMatrix(superagentClient);
