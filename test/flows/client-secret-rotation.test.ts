import t from 'tap';
import { rotateClientSecret } from '../../src/admin/clients.ts';
import type { Services } from '../../src/services.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { steppableClock } from '../helpers/clock.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { systemClock } from '../../src/lib/clock.ts';

/**
 * When a rotated-out secret stops working is decided by the server's clock: a steppable test clock,
 * moved by hand, shows the overlap's end without waiting for it.
 */

const API = 'https://orders.example.com';

const rotate = (s: Services, id: string, overlapSeconds?: number) =>
  rotateClientSecret({ clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically }, id, overlapSeconds === undefined ? {} : { overlapSeconds });

t.test('the replaced secret works until the overlap ends, then only the new one', async (t) => {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  await registerApi(gh.services, API, 'orders:read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const token = async (secret: string) => {
    const r = await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, secret));
    return r.status === 200 ? 'token' : String(r.json.error);
  };
  t.equal(await token(job.client_secret!), 'token', 'served before the rotation');

  const first = await rotate(gh.services, job.client_id, 600);
  t.equal(first.previous_secret_expires_at, new Date(clock.now().getTime() + 600_000).toISOString());
  t.equal(await token(job.client_secret!), 'token', 'the old secret during the overlap');
  t.equal(await token(first.client_secret), 'token', 'the new one at once');

  clock.advance(599);
  t.equal(await token(job.client_secret!), 'token', 'one second before the end: still accepted');
  clock.advance(1);
  t.equal(await token(job.client_secret!), 'invalid_client', 'at the end of the overlap: refused');
  t.equal(await token(first.client_secret), 'token', 'the new secret goes on');
  t.equal(await token('some-other-secret'), 'invalid_client');
});

t.test('rotating again during an overlap keeps only the newest old secret', async (t) => {
  // Wall time: the in-process server's oidc-provider and its keyring (seeded a day back) measure real time.
  const clock = steppableClock(systemClock.now());
  const gh = await buildTestApp(t, { listen: true, clock });
  await registerApi(gh.services, API, 'orders:read');
  const job = await registerClient(gh.services, { name: 'job', grants: ['client_credentials'], resources: [API] });
  const ok = async (secret: string) => (await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials' }, basic(job.client_id, secret))).status === 200;

  const second = await rotate(gh.services, job.client_id, 3600);
  clock.advance(60);
  const third = await rotate(gh.services, job.client_id, 300);
  t.notOk(await ok(job.client_secret!), 'the first secret, still in its overlap, ends at the second rotation');
  t.ok(await ok(second.client_secret), 'the secret just replaced is the one in overlap');
  t.ok(await ok(third.client_secret));
  clock.advance(300);
  t.notOk(await ok(second.client_secret), 'for the new overlap, not the old one');
  t.ok(await ok(third.client_secret));
  const [event] = await gh.services.auditStore.query({ type: 'client.secret_rotated', limit: 1 });
  t.match(event!.detail, { overlap_seconds: 300, ended_older_secret: true }, 'the audit event says an older secret was ended');

  const fourth = await rotate(gh.services, job.client_id, 0);
  t.equal(fourth.previous_secret_expires_at, null);
  t.notOk(await ok(third.client_secret), 'overlap 0: the replaced secret stops at once');
  t.ok(await ok(fourth.client_secret));

  // The default overlap is a day, by the same clock.
  const fifth = await rotate(gh.services, job.client_id);
  clock.advance(86_399);
  t.ok(await ok(fourth.client_secret), 'within the default day');
  clock.advance(1);
  t.notOk(await ok(fourth.client_secret), 'not after it');
  t.ok(await ok(fifth.client_secret));
});
