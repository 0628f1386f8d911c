// A pino-compatible logger seam. Meshlet is quiet by default: only warnings and errors (bad
// config, rejected resources) reach stderr unless a logger is given.

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

function line(obj: object | string, msg?: string): string {
  if (typeof obj === 'string') return `meshlet: ${obj}`;
  return `meshlet: ${msg ?? ''} ${JSON.stringify(obj)}`.trimEnd();
}

export const defaultLogger: Logger = {
  debug() {},
  info() {},
  warn(obj, msg) { process.stderr.write(`${line(obj, msg)}\n`); },
  error(obj, msg) { process.stderr.write(`${line(obj, msg)}\n`); },
};

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
