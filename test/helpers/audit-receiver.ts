// A SIEM's collector, as a process of its own: `node audit-receiver.ts <port> <file>` appends every
// POSTed body to the file and answers 204; it prints `listening <port>` once it listens.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const [port, file] = process.argv.slice(2);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    appendFileSync(file!, Buffer.concat(chunks));
    res.writeHead(204).end();
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
