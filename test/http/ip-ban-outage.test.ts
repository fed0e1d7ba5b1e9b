import Fastify from 'fastify';
import t from 'tap';
import { unavailable } from '../../src/errors.ts';
import type { LoginGuard } from '../../src/guard/login-guard.ts';
import { errorHandlerPlugin } from '../../src/http/plugins/error-handler.ts';
import { ipBanPlugin } from '../../src/http/plugins/ip-ban.ts';

/**
 * The IP-ban check runs before every route and reads the ban list (cached for 2 s). When the list
 * cannot be read because the database is down, the request fails closed with 503 and Retry-After —
 * as a page for a browser (it used to be JSON on the sign-in pages whenever the cache had just
 * expired) and as JSON for a machine.
 */
t.test('a ban list that cannot be read: 503, a page for browsers, JSON for machines', async (t) => {
  let down = true;
  const guard = {
    ipBan: async () => {
      if (down) throw unavailable('The service is temporarily unavailable; retry shortly.');
      return null;
    },
  } as unknown as LoginGuard;
  const app = Fastify();
  await app.register(errorHandlerPlugin);
  await app.register(ipBanPlugin, { guard });
  app.get('/auth', async () => 'the engine would answer here');
  t.teardown(() => app.close());

  const page = await app.inject({ url: '/auth', headers: { accept: 'text/html,application/xhtml+xml' } });
  t.equal(page.statusCode, 503);
  t.ok(Number(page.headers['retry-after']) > 0, 'Retry-After');
  t.match(page.headers['content-type'], /text\/html/, 'a page');
  t.match(page.body, /briefly unavailable/);

  const machine = await app.inject({ url: '/auth', headers: { accept: 'application/json' } });
  t.equal(machine.statusCode, 503);
  t.equal(machine.json().error, 'temporarily_unavailable');

  t.equal((await app.inject('/healthz')).statusCode, 404, 'health checks skip the ban list (no route here: 404, not 503)');
  down = false;
  const back = await app.inject({ url: '/auth', headers: { accept: 'text/html' } });
  t.equal(back.statusCode, 200, 'and the route answers once the list can be read');
});
