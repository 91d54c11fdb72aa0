// Child process: the least a Node gateway can do, as a floor for the REST hot-path benchmark. It
// reads each request's body, sends it to the upstream over a keep-alive agent and copies the
// answer back, parsing nothing (no auth, routing, SSE framing, limits or usage). Whatever a real
// gateway in Node adds above this row is its own work; this row is what node:http itself costs.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:1');
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const pieces: Buffer[] = [];
  req.on('data', (piece: Buffer) => pieces.push(piece));
  req.on('end', () => {
    const body = Buffer.concat(pieces);
    const headers = {
      'content-type': req.headers['content-type'] ?? 'application/json',
      authorization: req.headers.authorization ?? '',
      'content-length': String(body.length),
    };
    const call = request(upstream, { path: req.url, method: req.method, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
      answer.pipe(res);
    });
    call.on('error', () => res.destroy());
    res.on('close', () => call.destroy());
    call.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
