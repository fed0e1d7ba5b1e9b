import t from 'tap';
import { rotateClientSecret, updateClient } from '../../src/admin/clients.ts';
import { updateResource } from '../../src/admin/resources.ts';
import type { ClientRecord } from '../../src/admin/records.ts';
import { sha256 } from '../../src/lib/digest.ts';
import type { Services } from '../../src/services.ts';
import { steppableClock, FIXED_START } from '../helpers/clock.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { registerApi, registerClient } from '../helpers/fixtures.ts';
import { databaseServices } from '../helpers/stores.ts';

/**
 * The client and API repositories' writes for changes, on SQLite and PostgreSQL: a client update is
 * a compare-and-set on `updatedAt` (a stale write changes nothing), every column round-trips, and
 * an API update touches only the fields it is given. (There is no memory implementation of these
 * repositories: every caller runs on a database.)
 */

const API = 'https://orders.example.com';
const deps = (s: Services) => ({ clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically });

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a client update is a compare-and-set; every column round-trips`, async (t) => {
    const clock = steppableClock(FIXED_START);
    const s = await databaseServices(t, kind, clock);
    await registerApi(s, API, 'orders:read');
    await registerApi(s, 'https://billing.example.com', 'bills:read');
    const created = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
    const read = (await s.clients.findById(created.client_id))!;

    const later = new Date(FIXED_START.getTime() + 1);
    const expires = new Date(FIXED_START.getTime() + 3600_000);
    const next: ClientRecord = {
      ...read,
      name: 'renamed',
      scope: 'bills:read',
      resources: ['https://billing.example.com', API],
      secretHash: sha256('new secret'),
      previousSecretHash: read.secretHash,
      previousSecretExpiresAt: expires,
      updatedAt: later,
    };
    t.equal(await s.clients.update(next, read.updatedAt), true, 'the row read is the row written over');
    t.same(await s.clients.findById(created.client_id), next, 'every field as written, dates included');

    const stale: ClientRecord = { ...read, name: 'stale', updatedAt: new Date(later.getTime() + 1) };
    t.equal(await s.clients.update(stale, read.updatedAt), false, 'a write based on an old read is refused');
    t.equal((await s.clients.findById(created.client_id))!.name, 'renamed', 'and changes nothing');
    t.equal(await s.clients.update({ ...next, id: 'no-such-client' }, later), false, 'an unknown client: false');
    t.same((await s.clients.list()).map((c) => c.id), [created.client_id], 'and no row appears');

    t.equal(await s.clients.delete(created.client_id), true);
    t.equal(await s.clients.update(next, later), false, 'a deleted client is not written back');
    t.equal(await s.clients.findById(created.client_id), undefined);
  });

  t.test(`${kind}: updates and rotations one after another, within one millisecond, all count`, async (t) => {
    // The clock stands still: updatedAt must still move on each write, or the next compare-and-set
    // could not tell a stale read from a fresh one.
    const clock = steppableClock(FIXED_START);
    const s = await databaseServices(t, kind, clock);
    await registerApi(s, API, 'orders:read orders:write');
    const job = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
    const a = await updateClient(deps(s), job.client_id, { scope: 'orders:read' });
    const rotated = await rotateClientSecret(deps(s), job.client_id, { overlapSeconds: 60 });
    const b = await updateClient(deps(s), job.client_id, { name: 'job 2' });
    t.same([a.changed, b.changed], [['scope'], ['name']]);
    const stored = (await s.clients.findById(job.client_id))!;
    t.match(stored, { name: 'job 2', scope: 'orders:read', secretHash: sha256(rotated.client_secret), previousSecretHash: sha256(job.client_secret!) });
    t.equal(stored.updatedAt.getTime(), FIXED_START.getTime() + 3, 'three writes, three versions');
  });

  t.test(`${kind}: racing changes to one client never undo each other`, async (t) => {
    // On PostgreSQL two transactions read the same row; a plain read-modify-write would let the
    // update write the old secret back over the rotation. Each change that reports success must be
    // in the final row; a loser is told `conflict` and has written nothing.
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    await registerApi(s, API, 'orders:read');
    let conflicts = 0;
    for (let round = 0; round < 8; round++) {
      const job = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
      const outcomes = await Promise.allSettled([
        rotateClientSecret(deps(s), job.client_id, { overlapSeconds: 0 }),
        updateClient(deps(s), job.client_id, { name: `renamed ${round}` }),
      ]);
      const [rotation, update] = outcomes;
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          conflicts += 1;
          t.match(o.reason, { code: 'conflict', statusCode: 409 }, 'the loser is told conflict');
        }
      }
      t.ok(outcomes.some((o) => o.status === 'fulfilled'), 'at least one change wins');
      const stored = (await s.clients.findById(job.client_id))!;
      if (rotation!.status === 'fulfilled') t.equal(stored.secretHash, sha256(rotation.value.client_secret), 'the rotation that succeeded holds');
      else t.equal(stored.secretHash, sha256(job.client_secret!), 'the refused rotation wrote nothing');
      t.equal(stored.name, update!.status === 'fulfilled' ? `renamed ${round}` : 'job', 'so does the update');
    }
    // SQLite runs the two one after the other (its write lock); PostgreSQL lets them overlap.
    t.comment(`${conflicts} of 8 races ended in a conflict`);
    const events = await s.auditStore.query({ limit: 100 });
    const wins = events.filter((e) => e.type === 'client.updated' || e.type === 'client.secret_rotated').length;
    t.ok(wins >= 8, `${wins} changes audited, one per success`);
  });

  t.test(`${kind}: an API update touches only the given fields`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    await registerApi(s, API, 'orders:read', 300);
    t.equal(await s.resources.update(API, { description: 'orders' }), true);
    t.match(await s.resources.find(API), { scopes: ['orders:read'], accessTokenTtl: 300, description: 'orders' });
    t.equal(await s.resources.update(API, { scopes: ['a', 'b'], accessTokenTtl: null }), true);
    t.match(await s.resources.find(API), { scopes: ['a', 'b'], accessTokenTtl: null, description: 'orders' });
    t.equal(await s.resources.update('https://nowhere.example.com', { description: 'x' }), false);

    const r = await updateResource(deps(s), API, { description: '' });
    t.same(r.changed, ['description']);
    t.equal((await s.resources.find(API))!.description, null, 'an empty description is none');
    const events = await s.auditStore.query({ type: 'resource.updated', limit: 10 });
    t.same(events.map((e) => e.detail), [{ audience: API, changed: ['description'] }]);
  });
}
