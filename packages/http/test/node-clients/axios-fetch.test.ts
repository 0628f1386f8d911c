// The compatibility matrix's row for axios-fetch: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { axiosFetch } from './clients.ts';

runMatrix(axiosFetch);
