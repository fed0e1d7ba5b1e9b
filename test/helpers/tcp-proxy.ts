import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';

/**
 * A TCP proxy in front of a real server (PostgreSQL), so a test can take the server away from the
 * app — connections reset, new ones refused — and bring it back, without stopping the shared server.
 */
export interface TcpProxy {
  port: number;
  /** Drops every connection and stops listening (clients see resets, then ECONNREFUSED). */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
}

export async function startTcpProxy(t: Test, target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });

  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  t.teardown(cut);
  return { get port() { return port; }, cut, restore: listen };
}
