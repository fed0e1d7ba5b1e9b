import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { Test } from 'tap';

/**
 * A reverse proxy in front of a server, counting requests by path: put it at the issuer's public
 * URL to see how often a resource server really asks Gatehouse for discovery and keys.
 */
export interface CountingProxy {
  url: string;
  /** The upstream port; set it once the upstream listens. */
  targetPort: number;
  count(path: string): number;
}

export async function startCountingProxy(t: Test): Promise<CountingProxy> {
  const hits = new Map<string, number>();
  const proxy: CountingProxy = { url: '', targetPort: 0, count: (path) => hits.get(path) ?? 0 };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    // The Host header is kept: the upstream builds its URLs for the proxy's address.
    const upstream = request({ host: '127.0.0.1', port: proxy.targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}
