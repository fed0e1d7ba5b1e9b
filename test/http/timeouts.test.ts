import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';

/** A deadlock guard only: with 1 s timeouts every socket below closes long before this. The defaults
 * Node would apply without our settings (60 s for headers, none for bodies) are well beyond it. */
const GUARD_MS = 20_000;

/** Short timeouts so the test waits seconds, not minutes. */
const ENV = { HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '1', HTTP_KEEP_ALIVE_TIMEOUT: '1' };

async function open(t: Test, port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<boolean> }> {
  const socket = connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString('latin1')));
  socket.on('error', () => {});
  // Resolves true when the server closes the socket, false if the guard fires first.
  const closed = new Promise<boolean>((resolve) => {
    const guard = setTimeout(() => resolve(false), GUARD_MS);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(true);
    });
  });
  await once(socket, 'connect');
  return { socket, received: () => data, closed };
}

/** Writes a little more every 200 ms, so the connection is never idle: only a request deadline stops it. */
function drip(t: Test, socket: Socket, next: (i: number) => string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write(next(i++));
  }, 200);
  t.teardown(() => clearInterval(timer));
  socket.on('close', () => clearInterval(timer));
}

t.test('a client that sends its headers slowly is cut off', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: ENV });
  const { socket, received, closed } = await open(t, Number(new URL(gh.issuer).port));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  drip(t, socket, (i) => `X-Slow-${i}: a\r\n`);
  t.equal(await closed, true, 'the server closed the socket');
  t.match(received(), /^HTTP\/1\.1 408 /, 'with 408 Request Timeout');
});

t.test('a client that sends its body slowly is cut off', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: ENV });
  const { socket, received, closed } = await open(t, Number(new URL(gh.issuer).port));
  socket.write('POST /account/password/forgot HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"');
  drip(t, socket, () => 'a');
  t.equal(await closed, true, 'the server closed the socket');
  t.match(received(), /^HTTP\/1\.1 408 /, 'with 408 Request Timeout, the request unhandled');
});

t.test('an idle keep-alive connection is closed', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: ENV });
  const { socket, received, closed } = await open(t, Number(new URL(gh.issuer).port));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  t.equal(await closed, true, 'closed after the keep-alive timeout');
  t.match(received(), /^HTTP\/1\.1 200 /, 'after answering the request');
  t.match(received(), /keep-alive/i);
});

t.test('connections beyond HTTP_MAX_CONNECTIONS are closed on arrival', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: { HTTP_MAX_CONNECTIONS: '2' } });
  const port = Number(new URL(gh.issuer).port);
  const first = await open(t, port);
  const second = await open(t, port);
  const third = await open(t, port);
  third.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  t.equal(await third.closed, true, 'the third socket is closed');
  t.equal(third.received(), '', 'without an answer');
  second.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  while (!/\r\n\r\n/.test(second.received())) await once(second.socket, 'data');
  t.match(second.received(), /^HTTP\/1\.1 200 /, 'the connections within the cap are served');
  first.socket.destroy();
  second.socket.destroy();
});

t.test('timeouts are configurable and checked together', async (t) => {
  const { loadConfig } = await import('../../src/config/load-config.ts');
  const c = loadConfig({}, '/srv');
  t.match(c, { httpRequestTimeout: 30, httpHeadersTimeout: 10, httpKeepAliveTimeout: 72, httpMaxConnections: 1000 }, 'defaults');
  t.equal(loadConfig({ HTTP_REQUEST_TIMEOUT: '5' }, '/srv').httpHeadersTimeout, 5, 'the headers default never exceeds the request timeout');
  t.throws(() => loadConfig({ HTTP_REQUEST_TIMEOUT: '5', HTTP_HEADERS_TIMEOUT: '6' }, '/srv'), /HTTP_HEADERS_TIMEOUT/);
});
