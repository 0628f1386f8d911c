// The compatibility matrix's row for axios-http: every feature of the README's table (matrix.ts).

import { runMatrix } from './matrix.ts';
import { axiosHttp } from './clients.ts';

runMatrix(axiosHttp);
