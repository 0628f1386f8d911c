// Real HTTP servers on 127.0.0.1, port 0, for the adapter tests.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  name: string;
  port: number;
  hits: number;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  server: Server;
  close(): Promise<void>;
}

export type TestHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export async function startServer(name: string, handler?: TestHandler): Promise<TestServer> {
  const state: TestServer = { name, port: 0, hits: 0, requests: [], server: undefined as unknown as Server, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      state.hits++;
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) handler(req, res, body);
      else {
        res.setHeader('x-server', name);
        res.end(name);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.server = server;
  state.port = (server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}
