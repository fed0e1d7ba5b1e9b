import t from 'tap';
import { rotateClientSecret, updateClient } from '../../src/admin/clients.ts';
import { updateResource } from '../../src/admin/resources.ts';
import type { ClientRecord } from '../../src/clients/records.ts';
import { sha256 } from '../../src/lib/digest.ts';
import type { Services } from '../../src/services.ts';
import { steppableClock, FIXED_START } from '../helpers/clock.ts';
import { createTestDatabase, DATABASE_KINDS, rawQuery } from '../helpers/databases.ts';
import { migrate, readMigrations } from '../../src/persistence/migrate.ts';
import { openDatabase } from '../../src/persistence/database.ts';
import { buildServices } from '../../src/services.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { loadConfig } from '../../src/config/load-config.ts';
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
  t.test(`${kind}: a client update writes every column; an unknown or deleted client is not written`, async (t) => {
    const clock = steppableClock(FIXED_START);
    const s = await databaseServices(t, kind, clock);
    await registerApi(s, API, 'orders:read');
    await registerApi(s, 'https://billing.example.com', 'bills:read');
    const created = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
    const read = (await s.clients.findForUpdate(created.client_id))!;
    t.same(read, await s.clients.findById(created.client_id), 'findForUpdate reads what findById reads');

    const next: ClientRecord = {
      ...read,
      name: 'renamed',
      scope: 'bills:read',
      resources: ['https://billing.example.com', API],
      secretHash: sha256('new secret'),
      previousSecretHash: read.secretHash,
      previousSecretExpiresAt: new Date(FIXED_START.getTime() + 3600_000),
      updatedAt: new Date(FIXED_START.getTime() + 1000),
    };
    t.equal(await s.clients.update(next), true);
    t.same(await s.clients.findById(created.client_id), next, 'every field as written, dates included');
    t.equal((await s.clients.findById(created.client_id))!.createdAt.getTime(), FIXED_START.getTime(), 'the creation time stays');

    t.equal(await s.clients.update({ ...next, id: 'no-such-client' }), false, 'an unknown client: false');
    t.same((await s.clients.list()).map((c) => c.id), [created.client_id], 'and no row appears');
    t.equal(await s.clients.findForUpdate('no-such-client'), undefined);
    t.equal(await s.clients.delete(created.client_id), true);
    t.equal(await s.clients.update(next), false, 'a deleted client is not written back');
    t.equal(await s.clients.findById(created.client_id), undefined);
  });

  t.test(`${kind}: updates and rotations one after another all count`, async (t) => {
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    await registerApi(s, API, 'orders:read orders:write');
    const job = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
    const a = await updateClient(deps(s), job.client_id, { scope: 'orders:read' });
    const rotated = await rotateClientSecret(deps(s), job.client_id, { overlapSeconds: 60 });
    const b = await updateClient(deps(s), job.client_id, { name: 'job 2' });
    t.same([a.changed, b.changed], [['scope'], ['name']]);
    t.match(await s.clients.findById(job.client_id), { name: 'job 2', scope: 'orders:read', secretHash: sha256(rotated.client_secret), previousSecretHash: sha256(job.client_secret!) });
  });

  t.test(`${kind}: racing changes to one client never undo each other`, async (t) => {
    // Two transactions read the same client at once. A plain read-change-write would let the
    // update write the old secret back over the rotation (seen on PostgreSQL without the row lock).
    // Each change must succeed and be in the final row.
    const s = await databaseServices(t, kind, steppableClock(FIXED_START));
    await registerApi(s, API, 'orders:read');
    for (let round = 0; round < 8; round++) {
      const job = await registerClient(s, { name: 'job', grants: ['client_credentials'], resources: [API] });
      const [rotation, update, rename] = await Promise.all([
        rotateClientSecret(deps(s), job.client_id, { overlapSeconds: 60 }),
        updateClient(deps(s), job.client_id, { scope: `orders:read` }),
        updateClient(deps(s), job.client_id, { name: `renamed ${round}` }),
      ]);
      t.same([update.changed, rename.changed], [['scope'], ['name']]);
      t.match(
        await s.clients.findById(job.client_id),
        { secretHash: sha256(rotation.client_secret), previousSecretHash: sha256(job.client_secret!), scope: 'orders:read', name: `renamed ${round}` },
        `round ${round}: the rotation and both updates hold`,
      );
    }
    const events = await s.auditStore.query({ limit: 100 });
    t.equal(events.filter((e) => e.type === 'client.updated' || e.type === 'client.secret_rotated').length, 24, 'each change audited once');
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

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: a database with clients and APIs from before the change migrates, and they can be changed`, async (t) => {
    const db = await createTestDatabase(t, kind);
    const shipped = await readMigrations(kind);
    const at = shipped.findIndex((m) => m.name.endsWith('_client_changes'));
    t.ok(at > 0, 'the migration ships for this database');
    await migrate(kind, db.url, { migrations: shipped.slice(0, at) });
    const when = FIXED_START.toISOString();
    const stamp = kind === 'sqlite' ? `'${when}'` : `'${when}'::timestamp`;
    const metadata = JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], post_logout_redirect_uris: [], grant_types: ['client_credentials'], scope: null });
    await rawQuery(db, `INSERT INTO resources (audience, scopes, access_token_ttl, created_at) VALUES ('${API}', 'orders:read', NULL, ${stamp})`);
    await rawQuery(db, `INSERT INTO clients (id, name, secret_hash, metadata, resources, created_at, updated_at) VALUES ('old-job', 'old job', '${sha256('old secret')}', '${metadata}', '["${API}"]', ${stamp}, ${stamp})`);

    const report = await migrate(kind, db.url);
    t.same(report.applied, shipped.slice(at).map((m) => m.name));
    const logger = createLogger('silent');
    const database = await openDatabase({ databaseUrl: db.url, databaseKind: kind, logger });
    t.teardown(() => database.close());
    const s = buildServices({ config: loadConfig({ DATABASE_URL: db.url, SECRETS: 'x'.repeat(32) }), db: database, logger, clock: steppableClock(FIXED_START) });

    t.match(await s.clients.findById('old-job'), { secretHash: sha256('old secret'), previousSecretHash: null, previousSecretExpiresAt: null, introspects: [] });
    t.match(await s.resources.find(API), { description: null });
    const rotated = await rotateClientSecret(deps(s), 'old-job', { overlapSeconds: 60 });
    t.match(await s.clients.findById('old-job'), { secretHash: sha256(rotated.client_secret), previousSecretHash: sha256('old secret') });
    t.same((await updateClient(deps(s), 'old-job', { name: 'renamed' })).changed, ['name']);
    t.same((await updateResource(deps(s), API, { description: 'orders' })).changed, ['description']);
  });
}
