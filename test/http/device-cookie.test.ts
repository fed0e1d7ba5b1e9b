import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import t from 'tap';
import { deviceOf, rememberDevice } from '../../src/http/device.ts';
import { trustedDeviceFor } from '../../src/lib/device-cookie.ts';

// The device cookie through @fastify/cookie's signing, with SECRETS as the server registers them.
async function appWith(secrets: string[]) {
  const app = Fastify();
  await app.register(cookie, { secret: secrets });
  app.post('/login', async (request, reply) => {
    rememberDevice(reply, false, deviceOf(request, false), (request.query as { email: string }).email);
    return {};
  });
  app.get('/device', async (request) => ({ device: deviceOf(request, false) ?? null }));
  t.teardown(() => app.close());
  return app;
}

const OLD = 'an-old-secret-that-is-long-enough-0000000001';
const NEW = 'a-new-secret-that-is-long-enough-00000000002';

const cookieOf = (res: { cookies: { name: string; value: string }[] }) => res.cookies.find((c) => c.name === 'gatehouse_device')!.value;

t.test('a login sets a signed device cookie that names the account, and the next one adds to it', async (t) => {
  const app = await appWith([NEW]);
  const first = cookieOf(await app.inject({ method: 'POST', url: '/login?email=ada@example.com' }));
  t.match(first, /^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9+/]+$/, 'value, then the signature');
  const seen = (await app.inject({ url: '/device', cookies: { gatehouse_device: first } })).json().device;
  t.ok(trustedDeviceFor(seen, 'ada@example.com'), 'the device is trusted for the account that signed in');
  t.notOk(trustedDeviceFor(seen, 'bob@example.com'), 'and for no other');

  const second = cookieOf(await app.inject({ method: 'POST', url: '/login?email=bob@example.com', cookies: { gatehouse_device: first } }));
  const both = (await app.inject({ url: '/device', cookies: { gatehouse_device: second } })).json().device;
  t.equal(both.id, seen.id, 'the same device id');
  t.ok(trustedDeviceFor(both, 'ada@example.com') && trustedDeviceFor(both, 'BOB@example.com'));
});

t.test('a changed, unsigned, foreign or oversized cookie is no device at all', async (t) => {
  const app = await appWith([NEW]);
  const good = cookieOf(await app.inject({ method: 'POST', url: '/login?email=ada@example.com' }));
  const [version, id, tags, mac] = good.split('.');
  const otherTag = 'AAAAAAAAAAAAAAAA';
  const forged = [
    `${version}.${id}.${otherTag}.${mac}`, // another account, old signature
    `${version}.${id}.${tags}`, // no signature
    `${version}.${id}.${tags}.${mac!.slice(0, -2)}xx`, // a broken signature
    `v1.${id}.${tags}.${mac}`, // the old format
    `${good}${'A'.repeat(1000)}`,
  ];
  for (const value of forged) {
    t.equal((await app.inject({ url: '/device', cookies: { gatehouse_device: value } })).json().device, null, value.slice(0, 50));
  }
  const signedElsewhere = cookieOf(await (await appWith(['someone-elses-secret-that-is-long-enough-03'])).inject({ method: 'POST', url: '/login?email=ada@example.com' }));
  t.equal((await app.inject({ url: '/device', cookies: { gatehouse_device: signedElsewhere } })).json().device, null, 'signed with a secret we do not have');
});

t.test('SECRETS rotation: a cookie signed with the previous secret still counts', async (t) => {
  const before = await appWith([OLD]);
  const old = cookieOf(await before.inject({ method: 'POST', url: '/login?email=ada@example.com' }));
  const after = await appWith([NEW, OLD]);
  const device = (await after.inject({ url: '/device', cookies: { gatehouse_device: old } })).json().device;
  t.ok(trustedDeviceFor(device, 'ada@example.com'), 'the first secret signs, every secret verifies');
  const renewed = cookieOf(await after.inject({ method: 'POST', url: '/login?email=ada@example.com', cookies: { gatehouse_device: old } }));
  const onlyNew = await appWith([NEW]);
  t.ok(trustedDeviceFor((await onlyNew.inject({ url: '/device', cookies: { gatehouse_device: renewed } })).json().device, 'ada@example.com'), 'the next login re-signs it with the new secret');
});
