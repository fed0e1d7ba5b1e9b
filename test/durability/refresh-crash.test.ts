import t, { type Test } from 'tap';
import { sha256 } from '../../src/lib/digest.ts';
import { DATABASE_KINDS, PG_ADMIN_URL, rawQuery, type TestDatabase } from '../helpers/databases.ts';
import { gatehouseDeployment, type GatehouseServer } from '../helpers/gatehouse-process.ts';
import { authorizationCode, cliJson, databaseOf, redeemCode, refreshWith, registerWebApp, type App } from '../helpers/oauth-app.ts';

/**
 * A refresh rotation is one atomic step: the server killed (SIGKILL) or its database connections
 * dropped at any moment leaves either the old token usable or its successor stored with the recorded
 * response, so the client's retry with the token it holds always succeeds — no family revoked, no
 * false `refresh.reuse_detected`, never two live tokens in one family.
 *
 * The grace window is the longest allowed here (5 min) so that a retry after a restart is inside it however slow
 * the machine is: a rotation that committed just before the crash is answered from its record.
 */
t.setTimeout(15 * 60_000);

const FAMILIES = 6;
const KILLS = 8;
const TERMINATIONS = 6;
const PASSWORD = 'correct horse battery staple 9';
const EMAIL = 'alice@example.com';

interface Family {
  token: string;
}

interface Traffic {
  rotations: number;
  unavailable: number;
  unexpected: string[];
}

async function prepare(t: Test, kind: 'sqlite' | 'postgres') {
  const d = await gatehouseDeployment(t, kind, { env: { REFRESH_GRACE_SECONDS: '300' } });
  await cliJson(d, ['migrate']);
  const app = await registerWebApp(d);
  await cliJson(d, ['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
  const server = await d.start();
  const families: Family[] = [];
  for (let i = 0; i < FAMILIES; i++) {
    const tokens = await redeemCode(server.url, app, await authorizationCode(server.url, app, EMAIL, PASSWORD));
    t.equal(tokens.status, 200, `family ${i + 1} starts`);
    families.push({ token: String(tokens.json.refresh_token) });
  }
  return { d, db: databaseOf(d), issuer: server.url, app, server, families };
}

/**
 * Every family refreshes in a loop (a 503 is retried with the same token, as a client would) until
 * `stop()`; `untilRotations(n)` resolves when n rotations have been answered in all. A request the
 * server dies under ends that family's loop and is reported in `interrupted`.
 */
function runTraffic(issuer: string, app: App, families: Family[], traffic: Traffic) {
  let stopped = false;
  let waiter: { target: number; resolve: () => void } | undefined;
  const interrupted = new Set<Family>();
  const loops = families.map(async (f) => {
    while (!stopped) {
      let r;
      try {
        r = await refreshWith(issuer, app, f.token);
      } catch {
        interrupted.add(f);
        return;
      }
      if (r.status === 200) {
        f.token = String(r.json.refresh_token);
        traffic.rotations += 1;
        if (waiter && traffic.rotations >= waiter.target) waiter.resolve();
      } else if (r.status === 503 && Number(r.headers.get('retry-after')) > 0) {
        traffic.unavailable += 1;
      } else {
        traffic.unexpected.push(`${r.status} ${r.text.slice(0, 200)}`);
        return;
      }
    }
  });
  return {
    interrupted,
    untilRotations: (target: number) =>
      new Promise<void>((resolve) => {
        waiter = { target, resolve };
        if (traffic.rotations >= target) resolve();
        // A family that stopped on an unexpected answer must not leave the test waiting.
        void Promise.all(loops).then(() => resolve());
      }),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** After the run: no reuse was detected, and each family has exactly one live token: the client's. */
async function checkFamilies(t: Test, db: TestDatabase, families: Family[]) {
  const reuse = await rawQuery(db, "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'refresh.reuse_detected'");
  t.equal(Number(reuse[0]!.n), 0, 'no refresh.reuse_detected audited');
  const live = await rawQuery(db, "SELECT grant_id, COUNT(*) AS n FROM oidc_payloads WHERE model = 'RefreshToken' AND consumed_at IS NULL GROUP BY grant_id");
  t.equal(live.length, FAMILIES, 'every family (grant) is alive');
  t.ok(live.every((row) => Number(row.n) === 1), 'no family forked: one live refresh token each');
  const ids = families.map((f) => `'${sha256(f.token)}'`).join(', ');
  const held = await rawQuery(db, `SELECT COUNT(*) AS n FROM oidc_payloads WHERE model = 'RefreshToken' AND consumed_at IS NULL AND id IN (${ids})`);
  t.equal(Number(held[0]!.n), FAMILIES, "and that token is the one each client holds");
}

const randomInt = (from: number, to: number) => from + Math.floor(Math.random() * (to - from + 1));

for (const kind of DATABASE_KINDS) {
  t.test(`${kind}: kill -9 in the middle of refresh rotations — every retry succeeds, no family revoked or forked`, async (t) => {
    const { d, db, issuer, app, families, server: first } = await prepare(t, kind);
    let server: GatehouseServer = first;
    const traffic: Traffic = { rotations: 0, unavailable: 0, unexpected: [] };
    const counts = { kills: 0, interrupted: 0, committedBeforeKill: 0, retried: 0 };
    for (let k = 0; k < KILLS; k++) {
      const run = runTraffic(issuer, app, families, traffic);
      // The kill lands right after the n-th answer, while the other families' requests are in flight.
      await run.untilRotations(traffic.rotations + randomInt(1, 2 * FAMILIES));
      await server.kill9();
      await run.stop();
      counts.kills += 1;
      counts.interrupted += run.interrupted.size;
      for (const f of run.interrupted) {
        const rows = await rawQuery(db, `SELECT consumed_at FROM oidc_payloads WHERE model = 'RefreshToken' AND id = '${sha256(f.token)}'`);
        t.equal(rows.length, 1, 'the token the client holds is still there');
        if (rows[0]?.consumed_at) counts.committedBeforeKill += 1;
      }
      server = await d.start();
      for (const f of run.interrupted) {
        const r = await refreshWith(issuer, app, f.token);
        t.equal(r.status, 200, `after kill ${k + 1}: the retry with the token the client holds succeeds ${r.text.slice(0, 200)}`);
        f.token = String(r.json.refresh_token);
        counts.retried += 1;
      }
    }
    t.same(traffic.unexpected, [], 'no other answer than 200 while the server was up');
    t.ok(counts.interrupted > 0, 'the kills interrupted rotations');
    await rotateEach(t, issuer, app, families);
    await server.kill9();
    await checkFamilies(t, db, families);
    t.comment(
      `${kind}: kills ${counts.kills}, rotations ${traffic.rotations}, requests interrupted ${counts.interrupted} ` +
        `(committed before the kill, answered from the record: ${counts.committedBeforeKill}), retries ${counts.retried} all 200, ` +
        `reuse detected 0, 500s 0`,
    );
  });
}

/** One more rotation of every family: each must still work. */
async function rotateEach(t: Test, issuer: string, app: Parameters<typeof refreshWith>[1], families: { token: string }[]): Promise<void> {
  for (const f of families) {
    const r = await refreshWith(issuer, app, f.token);
    t.equal(r.status, 200, 'each family still rotates');
    f.token = String(r.json.refresh_token);
  }
}

t.test('postgres: connections terminated (pg_terminate_backend) in the middle of rotations — 503 or 200, never a revoked family', async (t) => {
  const { db, issuer, app, families, server } = await prepare(t, 'postgres');
  const traffic: Traffic = { rotations: 0, unavailable: 0, unexpected: [] };
  const run = runTraffic(issuer, app, families, traffic);
  const database = new URL(db.url).pathname.slice(1);
  let terminated = 0;
  for (let i = 0; i < TERMINATIONS; i++) {
    await run.untilRotations(traffic.rotations + randomInt(1, 2 * FAMILIES));
    const rows = await rawQuery(
      { kind: 'postgres', url: PG_ADMIN_URL },
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`,
    );
    terminated += rows.filter((r) => r.ok === true).length;
  }
  // Service comes back by itself: more rotations after the last termination.
  await run.untilRotations(traffic.rotations + 2 * FAMILIES);
  await run.stop();
  t.same(traffic.unexpected, [], 'every answer was 200 or 503 with Retry-After');
  t.equal(run.interrupted.size, 0, 'no request lost its connection to the server');
  t.equal(server.process.child.exitCode, null, 'the same server process throughout');
  await rotateEach(t, issuer, app, families);
  await server.kill9();
  await checkFamilies(t, db, families);
  t.comment(`postgres: terminations ${TERMINATIONS} (${terminated} connections), rotations ${traffic.rotations}, 503s ${traffic.unavailable}, 500s 0, reuse detected 0`);
});
