// A backend in its own process, so a scenario can kill it for real (SIGKILL: no FIN handshake
// from a graceful close, sockets reset by the kernel) and start it again on the same port.
//
//   node backend-process.ts <name> <port|0> <mode>
//   mode: ok            answers 200 with the name as the body
//         slow:<ms>     answers after <ms>
//         blackhole     accepts connections and never answers
// Prints {"port":N} once listening.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

const [name = 'backend', portArg = '0', mode = 'ok'] = process.argv.slice(2);
const port = Number(portArg);

function ready(address: AddressInfo): void {
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

if (mode === 'blackhole') {
  // Hold every socket and read nothing back: the client sees a connection that never answers.
  const held = new Set<Socket>();
  const server = createNetServer((socket) => {
    held.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => held.delete(socket));
  });
  server.listen(port, '127.0.0.1', () => ready(server.address() as AddressInfo));
} else {
  const delay = mode.startsWith('slow:') ? Number(mode.slice(5)) : 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = (): void => {
        res.setHeader('x-backend', name);
        res.end(name);
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  server.listen(port, '127.0.0.1', () => ready(server.address() as AddressInfo));
}

// The parent going away (a crashed test run) must not leave this process behind.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
