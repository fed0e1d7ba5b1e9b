/**
 * The ceiling for password checks: an HTTP server that verifies one argon2id hash per POST with
 * Gatehouse's parameters (src/accounts/password-hasher.ts) and nothing else, four checks at a time
 * (libuv's default thread pool, as Gatehouse). Started by bench/run.ts; prints "ready <port>".
 */
import { createServer } from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import { ARGON2_PARAMS } from '../src/accounts/password-hasher.ts';

const port = Number(process.argv[2]);
const stored = await hash('a long quiet harbour at dusk', ARGON2_PARAMS);
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    void verify(stored, 'a wrong password').then((ok) => {
      res.statusCode = ok ? 200 : 401;
      res.end();
    });
  });
}).listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
