import t, { type Test } from 'tap';
import { sha256 } from '../../src/lib/digest.ts';
import { PG_ADMIN_URL, rawQuery, type TestDatabase } from '../helpers/databases.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { relyingParty, startAuthorization } from '../helpers/relying-party.ts';
import {
  authorizationCode,
  redeemCode,
  REDIRECT,
  cliJson,
  databaseOf,
  refreshWith,
  registerWebApp,
  type App,
} from '../helpers/oauth-app.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { hiddenField, UserAgent, type Step } from '../helpers/user-agent.ts';

/**
 * PostgreSQL drops the server's connections (an administrator's pg_terminate_backend, a failover)
 * while every surface is under load: each request either succeeds or answers 503 with Retry-After
 * (JSON for machines, a readable page for people) — never a 500 — nothing is half-written, and
 * service comes back in the same process.
 */
t.setTimeout(15 * 60_000);

const TERMINATIONS = 5;
const PASSWORD = 'correct horse battery staple 9';
const EMAIL = 'alice@example.com';
const API = 'https://orders.example.com';

type Surface = 'client_credentials' | 'refresh' | 'code' | 'sign-in pages' | 'account api' | 'admin api';
const SURFACES: Surface[] = ['client_credentials', 'refresh', 'code', 'sign-in pages', 'account api', 'admin api'];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** Every answer, by surface; anything but the expected statuses or a well-formed 503 is a failure. */
function createTally() {
  const rows = Object.fromEntries(SURFACES.map((s) => [s, { requests: 0, ok: 0, unavailable: 0, errors500: 0 }])) as Record<
    Surface,
    { requests: number; ok: number; unavailable: number; errors500: number }
  >;
  const problems: string[] = [];
  let progress = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  return {
    rows,
    problems,
    /** 'ok', 'unavailable' (a proper 503: retry) or 'wrong' (recorded as a problem). */
    classify(surface: Surface, r: Answer, expected: number[], html = false): 'ok' | 'unavailable' | 'wrong' {
      const row = rows[surface];
      row.requests += 1;
      if (expected.includes(r.status)) {
        row.ok += 1;
        progress += 1;
        if (waiter && progress >= waiter.target) waiter.resolve();
        return 'ok';
      }
      if (r.status === 503) {
        row.unavailable += 1;
        const retryAfter = Number(r.headers.get('retry-after'));
        const readable = html
          ? /text\/html/.test(r.headers.get('content-type') ?? '') && r.text.includes('briefly unavailable')
          : /"error":"temporarily_unavailable"/.test(r.text);
        if (retryAfter > 0 && readable) return 'unavailable';
        problems.push(`${surface}: a 503 without Retry-After or readable body: ${r.text.slice(0, 200)}`);
        return 'wrong';
      }
      if (r.status >= 500) row.errors500 += 1;
      problems.push(`${surface}: ${r.status} ${r.text.slice(0, 300)}`);
      return 'wrong';
    },
    /** Resolves after `n` more successful answers (any surface). */
    more(n: number) {
      return new Promise<void>((resolve) => (waiter = { target: progress + n, resolve }));
    },
  };
}
type Tally = ReturnType<typeof createTally>;

/** The server under test: where to send requests, and its database for the checks afterwards. */
interface Target {
  issuer: string;
  db: TestDatabase;
}

async function setup(t: Test) {
  const d = await gatehouseDeployment(t, 'postgres', { env: { IP_SIGNUP_LIMIT: '1000000', IP_RESET_LIMIT: '1000000' } });
  const server = await d.start();
  const h: Target = { issuer: server.url, db: databaseOf(d) };
  const app = await registerWebApp(d);
  await cliJson(d, ['users', 'create', EMAIL, '--password-stdin', '--verified'], `${PASSWORD}\n`);
  await cliJson(d, ['resources', 'create', '--audience', API, '--scope', 'orders:read']);
  const service = await cliJson(d, ['clients', 'create', '--name', 'job', '--grant', 'client_credentials', '--resource', API]);
  const ops = await cliJson(d, ['clients', 'create', '--name', 'ops', '--grant', 'client_credentials', '--resource', `${h.issuer}/admin`, '--scope', 'gatehouse:admin']);
  return {
    h,
    server,
    app,
    serviceAuth: basic(String(service.client_id), String(service.client_secret)),
    opsAuth: basic(String(ops.client_id), String(ops.client_secret)),
  };
}

/** What the loops acknowledged, checked against the database afterwards. */
interface Acknowledged {
  refreshFamilies: { token: string }[];
  codeRefreshTokens: string[];
  signups: string[];
  resources: string[];
  retriedCodes: number;
}

const json = async (url: string, init: { method?: string; body?: unknown; auth?: string }) => {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.auth ? { authorization: init.auth } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

type RelyingParty = Awaited<ReturnType<typeof relyingParty>>;

const page = (step: Step): Answer => ({ status: step.status, headers: step.headers, text: step.body });

/** A person signs in through the pages (any page may answer the 503 page; they start over) and the
 * app redeems the code (a 503 is retried with the same code, which must then work). */
async function signInAndRedeem(h: Target, app: App, config: RelyingParty, tally: Tally, acked: Acknowledged): Promise<void> {
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const ua = new UserAgent();
  let step: Step = await ua.follow(start.url.href, REDIRECT);
  for (let i = 0; i < 4 && !step.location?.startsWith(REDIRECT); i++) {
    if (tally.classify('sign-in pages', page(step), [200], true) !== 'ok') return;
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)?.[1] ?? /action="\/interaction\/([A-Za-z0-9_-]+)\//.exec(step.body)?.[1];
    const base = new URL(step.url).origin;
    const csrf = hiddenField(step.body, 'csrf');
    const form: { path: string; fields: Record<string, string> } = step.body.includes('name="password"')
      ? { path: 'login', fields: { csrf, email: EMAIL, password: PASSWORD } }
      : { path: 'confirm', fields: { csrf } };
    step = await ua.follow(`${base}/interaction/${uid}/${form.path}`, REDIRECT, { form: form.fields });
  }
  if (tally.classify('sign-in pages', page(step), step.location?.startsWith(REDIRECT) ? [303] : [], true) !== 'ok') return;
  const callback = new URL(step.location!).searchParams;
  // The authorization endpoint reports its errors to the app (RFC 6749 §4.1.2.1), a failing
  // database as temporarily_unavailable: the app starts the sign-in again.
  if (callback.get('error') === 'temporarily_unavailable') return void tally.rows['sign-in pages'].unavailable++;
  if (!callback.get('code')) return void tally.problems.push(`sign-in pages: sent back to the app with ${callback}`);
  const code = callback.get('code')!;
  for (let attempt = 0; ; attempt++) {
    const r = await redeemCode(h.issuer, app, { code, verifier: start.verifier });
    const outcome = tally.classify('code', r, [200]);
    if (outcome === 'ok') {
      acked.codeRefreshTokens.push(String(r.json.refresh_token));
      if (attempt > 0) acked.retriedCodes += 1;
      return;
    }
    if (outcome === 'wrong') return;
  }
}

function startLoad(h: Target, s: Awaited<ReturnType<typeof setup>>, config: RelyingParty, tally: Tally, acked: Acknowledged) {
  let stopped = false;
  const loop = (work: () => Promise<void>) =>
    (async () => {
      while (!stopped) {
        try {
          await work();
        } catch (err) {
          tally.problems.push(`a request failed: ${(err as Error).message}`);
        }
      }
    })();
  let adminToken = '';
  let n = 0;
  const loops = [
    loop(async () => {
      const r = await postForm(`${h.issuer}/token`, { grant_type: 'client_credentials' }, s.serviceAuth);
      tally.classify('client_credentials', r, [200]);
    }),
    ...acked.refreshFamilies.map((f) =>
      loop(async () => {
        const r = await refreshWith(h.issuer, s.app, f.token);
        if (tally.classify('refresh', r, [200]) === 'ok') f.token = String(r.json.refresh_token);
      }),
    ),
    // Two people signing in at once.
    loop(() => signInAndRedeem(h, s.app, config, tally, acked)),
    loop(() => signInAndRedeem(h, s.app, config, tally, acked)),
    loop(async () => {
      const email = `person${(n += 1)}@example.com`;
      const signup = await json(`${h.issuer}/account/signup`, { method: 'POST', body: { email, password: PASSWORD } });
      if (tally.classify('account api', signup, [202]) === 'ok') acked.signups.push(email);
      const forgot = await json(`${h.issuer}/account/password/forgot`, { method: 'POST', body: { email: EMAIL } });
      tally.classify('account api', forgot, [202]);
    }),
    loop(async () => {
      if (!adminToken) {
        const r = await postForm(`${h.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, s.opsAuth);
        if (tally.classify('client_credentials', r, [200]) === 'ok') adminToken = String(r.json.access_token);
        return;
      }
      const auth = `Bearer ${adminToken}`;
      tally.classify('admin api', await json(`${h.issuer}/admin/users`, { auth }), [200]);
      const audience = `https://api-${(n += 1)}.example.com`;
      // A create answered 503 is retried; it was not written, so the retry creates it.
      for (;;) {
        const r = await json(`${h.issuer}/admin/resources`, { method: 'POST', body: { audience, scope: 'read' }, auth });
        const outcome = tally.classify('admin api', r, [201]);
        if (outcome === 'ok') acked.resources.push(audience);
        if (outcome !== 'unavailable') break;
      }
      tally.classify('admin api', await json(`${h.issuer}/admin/clients`, { auth }), [200]);
    }),
  ];
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

t.test('postgres: connections terminated under load on every surface — 200 or 503 with Retry-After, never a 500; nothing half-written', async (t) => {
  const s = await setup(t);
  const { h } = s;
  const tally = createTally();
  const acked: Acknowledged = { refreshFamilies: [], codeRefreshTokens: [], signups: [], resources: [], retriedCodes: 0 };
  for (let i = 0; i < 2; i++) {
    const tokens = await redeemCode(h.issuer, s.app, await authorizationCode(h.issuer, s.app, EMAIL, PASSWORD));
    acked.refreshFamilies.push({ token: String(tokens.json.refresh_token) });
  }
  // Discovery, once, as an app does at start (during the faults it may answer 503 like the rest).
  const load = startLoad(h, s, await relyingParty({ issuer: h.issuer }, s.app), tally, acked);
  const database = new URL(h.db.url).pathname.slice(1);
  let connections = 0;
  for (let i = 0; i < TERMINATIONS; i++) {
    await tally.more(15 + Math.floor(Math.random() * 30));
    const rows = await rawQuery(
      { kind: 'postgres', url: PG_ADMIN_URL },
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`,
    );
    connections += rows.filter((r) => r.ok === true).length;
  }
  // Service comes back by itself: every surface answers successfully after the last termination.
  const after = Object.fromEntries(SURFACES.map((x) => [x, tally.rows[x].ok]));
  while (SURFACES.some((x) => tally.rows[x].ok <= after[x]!) && tally.problems.length === 0) await tally.more(1);
  await load.stop();

  t.same(tally.problems, [], 'every answer was the expected one or a 503 with Retry-After and a readable body');
  t.equal(s.server.process.child.exitCode, null, 'the same server process throughout (no restart)');
  t.equal((await fetch(`${h.issuer}/readyz`)).status, 200, 'ready');

  // Nothing half-written.
  const reuse = await rawQuery(h.db, "SELECT COUNT(*) AS n FROM audit_events WHERE type LIKE '%reuse_detected'");
  t.equal(Number(reuse[0]!.n), 0, 'no code or refresh token was seen as reused');
  const forked = await rawQuery(h.db, "SELECT grant_id FROM oidc_payloads WHERE model = 'RefreshToken' AND consumed_at IS NULL GROUP BY grant_id HAVING COUNT(*) <> 1");
  t.same(forked, [], 'every grant has exactly one live refresh token');
  const held = [...acked.refreshFamilies.map((f) => f.token), ...acked.codeRefreshTokens].map((x) => `'${sha256(x)}'`);
  const live = await rawQuery(h.db, `SELECT COUNT(*) AS n FROM oidc_payloads WHERE model = 'RefreshToken' AND consumed_at IS NULL AND id IN (${held.join(', ')})`);
  t.equal(Number(live[0]!.n), held.length, 'every refresh token a client was given (by a code exchange or a rotation) is live');
  if (acked.signups.length > 0) {
    const users = await rawQuery(h.db, `SELECT COUNT(*) AS n FROM users WHERE email IN (${acked.signups.map((e) => `'${e}'`).join(', ')})`);
    t.equal(Number(users[0]!.n), acked.signups.length, 'every acknowledged signup is there');
  }
  if (acked.resources.length > 0) {
    const apis = await rawQuery(h.db, `SELECT COUNT(*) AS n FROM resources WHERE audience IN (${acked.resources.map((a) => `'${a}'`).join(', ')})`);
    t.equal(Number(apis[0]!.n), acked.resources.length, 'every acknowledged API is there');
  }
  for (const f of acked.refreshFamilies) t.equal((await refreshWith(h.issuer, s.app, f.token)).status, 200, 'the rotated families still work');

  const lines = SURFACES.map((x) => `${x} ${tally.rows[x].requests} requests / ${tally.rows[x].unavailable} 503s / ${tally.rows[x].errors500} 500s`);
  t.comment(`terminations ${TERMINATIONS} (${connections} connections); ${lines.join('; ')}; codes redeemed after a 503: ${acked.retriedCodes}`);
  t.equal(
    SURFACES.reduce((sum, x) => sum + tally.rows[x].errors500, 0),
    0,
    '500s = 0',
  );
});
