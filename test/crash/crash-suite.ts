import * as oidc from 'openid-client';
import t from 'tap';
import type { DatabaseKind } from '../../src/config/schema.ts';
import { gatehouseDeployment, type GatehouseDeployment, type GatehouseServer } from '../helpers/gatehouse-process.ts';
import { AcknowledgedState } from './acknowledged-state.ts';
import { checkAfterRestart, type CheckDeps } from './checks.ts';
import { cliSchedule, CLI_WRITES, runOperator, type Operator } from './cli-writes.ts';
import { Cycle } from './cycle.ts';
import { readDatabase } from './database-reader.ts';
import { Ledger, OTHER_CHECKS, WRITE_CHECKS } from './ledger.ts';
import { watchOutbox } from './outbox-watch.ts';
import { crashSeed, createPrng } from './prng.ts';
import { deviceClient, DEVICE_GRANT, jobClient, refreshClient, runClient, signupClient, webClient, type Clients } from './traffic.ts';

/** The kill lands after this many client requests of the cycle (drawn per cycle), plus 0–30 ms. */
const KILL_AFTER_REQUESTS = [12, 50] as const;
/** Families kept alive from one cycle to the next; older ones are retired through their predecessor check. */
const KEEP_FAMILIES = 3;
const API = 'https://api.crash.example.com';
const REDIRECT = 'https://app.crash.example.com/callback';
const BAN_TARGET = 'ban-target@example.com';
/** Hang guard only (no speed is asserted): a cycle whose traffic never reaches its kill point. */
const STALL_MS = 60_000;
/** REFRESH_GRACE_SECONDS, at its default (set here so that the checks know it). */
const GRACE_SECONDS = 10;

/** What the deployment changes from the defaults, and why. */
const ENV = {
  // All traffic comes from 127.0.0.1: the per-IP signup limit (10 per hour) would stop the signups
  // after the first cycles, and each login the kill cuts leaves its reserved attempt counted against
  // the IP. The per-account throttle stays as shipped; its 429s count as "not acknowledged".
  IP_SIGNUP_LIMIT: '1000000',
  IP_FAILURE_LIMIT: '1000000',
  REFRESH_GRACE_SECONDS: String(GRACE_SECONDS),
};

/** Pino lines of `output` at `level` or above (40 warn, 50 error, 60 fatal). */
function logLines(output: string, level: number): string[] {
  return output.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    try {
      return (JSON.parse(line) as { level?: number }).level! >= level;
    } catch {
      return false;
    }
  });
}

/**
 * The operator's set-up, the way a fresh machine gets it: the server (which migrates the new
 * database), an admin client with the CLI, then through the admin API the API, the three apps and
 * the account bans will toggle (one CLI run instead of six: every CLI run costs a second of CPU).
 */
async function setUp(gh: GatehouseDeployment, op: Operator) {
  const server = await gh.start();
  const adminApi = `${gh.env.ISSUER}/admin`;
  const created = await gh.cli(['clients', 'create', '--name', 'Crash operator', '--grant', 'client_credentials', '--resource', adminApi, '--scope', 'gatehouse:admin', '--json']);
  if (created.code !== 0) throw new Error(`gatehouse clients create exited ${created.code}: ${created.stderr}`);
  const operator = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  const metadata = (await oidc.discovery(new URL(server.url), operator.client_id, operator.client_secret, undefined, { execute: [oidc.allowInsecureRequests] })).serverMetadata();
  const configuration = (client: { client_id: string; client_secret?: string }) => {
    const config = new oidc.Configuration(metadata, client.client_id, client.client_secret, client.client_secret ? undefined : oidc.None());
    oidc.allowInsecureRequests(config);
    return config;
  };
  const { access_token: token } = await oidc.clientCredentialsGrant(configuration(operator), { scope: 'gatehouse:admin' });
  const admin = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}/admin/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST /admin/${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { client_id: string; client_secret?: string };
  };
  await admin('resources', { audience: API, scope: 'crash:read' });
  const [web, tv, job] = await Promise.all([
    admin('clients', { name: 'Crash web', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] }),
    admin('clients', { name: 'Crash TV', public: true, grant_types: [DEVICE_GRANT], scope: 'openid email' }),
    admin('clients', { name: 'Crash job', grant_types: ['client_credentials'], resources: [API] }),
    admin('users', { email: BAN_TARGET, password: 'a ban target walks in', verified: true }),
  ]);
  op.state.banned.set(BAN_TARGET, false);
  return { server, apps: { web: configuration(web), tv: configuration(tv), job: configuration(job) } };
}

/**
 * Before the first kill: a few people sign up and confirm their address (so that logins start at
 * once), one signs in to the web app (a first refresh family) and one approves the TV, so that
 * every kind of traffic write is acknowledged at least once whatever the kill points.
 */
async function warmUp(c: Clients, accounts: number): Promise<void> {
  const calm = Cycle.calm();
  const signup = signupClient(c, calm, accounts);
  const deadline = Date.now() + STALL_MS;
  while (c.state.verifiedAccounts().length < accounts) {
    if (Date.now() > deadline) throw new Error('the verification mails of the first accounts never arrived');
    await c.outbox.scan();
    const mailed = c.state.pending.some((p) => p.token ?? c.outbox.verificationToken(p.email));
    if (mailed || c.state.accounts.size < accounts) await signup();
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await webClient(c, calm)();
  await deviceClient(c, calm)();
}

/**
 * Crash consistency of one deployment: a real server (`node dist/main.js`) with the CLI beside it,
 * mixed traffic from several clients (signup and email verification, login and consent, code
 * exchange, refresh rotation, client credentials, the device flow) and CLI writes, killed with
 * SIGKILL `kills` times at a seeded random point of the traffic. After every restart, before new
 * traffic, every acknowledged write is checked (checks.ts): over HTTP as a client would notice it,
 * and in the database by a reader that is not Gatehouse.
 */
export function crashSuite(kind: DatabaseKind, kills: number): void {
  // Each kill costs a server start and a CLI run: on a loaded CI machine (two suites side by side,
  // two files at a time) a file can take several minutes. These are hang guards, not speed limits.
  t.setTimeout(12 * 60_000);
  t.test(`${kind}: kill -9 at ${kills} random moments of mixed traffic loses no acknowledged write`, async (t) => {
    // Under the file's limit, so that a stuck run still reports what it saw.
    t.setTimeout(11 * 60_000);
    const began = performance.now();
    const at = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
    const seed = crashSeed();
    const prng = createPrng(seed);
    t.comment(`${kind}: seed ${seed} (CRASH_SEED=${seed} replays the choices and kill points; the interleaving of requests stays the machine's)`);

    const gh = await gatehouseDeployment(t, kind, { env: ENV });
    const state = new AcknowledgedState();
    const ledger = new Ledger();
    let n = 0;
    const newCredentials = (prefix: string) => {
      n += 1;
      return { email: `${prefix}-${n}@example.com`, password: `lantern harbour quiet ${n * 7919}` };
    };
    const op: Operator = { gh, api: API, banTarget: BAN_TARGET, state, ledger, prng, newCredentials };
    const setup = await setUp(gh, op);
    let server: GatehouseServer = setup.server;
    const clients: Clients = { url: server.url, ...setup.apps, redirectUri: REDIRECT, state, ledger, prng, outbox: watchOutbox(gh.dataDir), newCredentials };
    const deps: CheckDeps = { ...clients, gh, api: API, graceSeconds: GRACE_SECONDS };
    await warmUp(clients, 4);
    t.comment(`set up at ${at()}`);
    const nextCliWrite = cliSchedule(prng, state);

    let killed = 0;
    for (let k = 1; k <= kills; k++) {
      const cycleStart = performance.now();
      const dying = server;
      const cycle = new Cycle(prng.int(...KILL_AFTER_REQUESTS), prng.int(0, 30), () => dying.kill9());
      const stall = setTimeout(() => {
        ledger.problem(`cycle ${k}: no kill after ${STALL_MS} ms (${cycle.steps} requests)`);
        cycle.killNow();
      }, STALL_MS);
      const traffic = [
        runClient('signup', cycle, ledger, signupClient(clients, cycle)),
        runClient('web 1', cycle, ledger, webClient(clients, cycle)),
        runClient('web 2', cycle, ledger, webClient(clients, cycle)),
        runClient('refresh 1', cycle, ledger, refreshClient(clients, cycle)),
        runClient('refresh 2', cycle, ledger, refreshClient(clients, cycle)),
        runClient('job', cycle, ledger, jobClient(clients, cycle)),
        runClient('tv', cycle, ledger, deviceClient(clients, cycle)),
      ];
      const operator = runOperator(op, nextCliWrite);
      await cycle.killed;
      const killedAt = performance.now();
      clearTimeout(stall);
      const exit = await dying.process.exited;
      if (exit === 'SIGKILL') killed += 1;
      else ledger.problem(`cycle ${k}: the server ended with ${exit}, not SIGKILL`);
      for (const line of logLines(dying.process.output(), 50)) ledger.problem(`cycle ${k}: the server logged ${line.slice(0, 300)}`);
      await Promise.all(traffic);

      // Restart while the CLI run the kill fell into (if any) finishes, as an operator's would.
      const startedAt = Date.now();
      let readyAt = 0;
      let operatorDoneAt = 0;
      [server] = await Promise.all([
        gh.start().then((s) => ((readyAt = performance.now()), s)),
        operator.then(() => (operatorDoneAt = performance.now())),
      ]);
      const checksAt = performance.now();
      const ready = await fetch(`${server.url}/readyz`);
      const noisy = logLines(server.process.output(), 40);
      const clean = ready.status === 200 && noisy.length === 0;
      ledger.check('the server restarts cleanly and /readyz is 200', clean, `restart ${k}: /readyz ${ready.status}; ${noisy.join(' | ').slice(0, 300)}`);
      await checkAfterRestart(deps, k === kills ? 0 : KEEP_FAMILIES, startedAt);
      const s = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
      t.comment(
        `kill ${k} at ${at()}: after ${cycle.steps} requests (${s(cycleStart, killedAt)} s), restart ${s(killedAt, readyAt)} s ` +
          `(CLI done ${s(killedAt, Math.max(killedAt, operatorDoneAt))} s), checks ${s(checksAt, performance.now())} s; ${state.families.length} families, ${state.verifiedAccounts().length} accounts`,
      );
    }

    t.equal(await server.stop(), 0, 'the last server drains and exits 0 on SIGTERM');
    if (kind === 'sqlite') {
      const after = await readDatabase(gh);
      ledger.check('database integrity', after.integrity === 'ok', `integrity_check after the run: ${after.integrity}`);
    }

    t.comment(
      `${kind}: ${killed} kills; ${ledger.totalAcks()} acknowledged writes; ${ledger.writesChecked()} checks of acknowledged writes after restarts; ` +
        `lost = ${ledger.lost()}; ${at()} in all (this process used ${Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1e6)} s of CPU)`,
    );
    t.comment(`acknowledged: ${[...ledger.acks].map(([what, count]) => `${what} ${count}`).join(', ')}`);
    t.comment(`seen: ${[...ledger.notes].map(([what, count]) => `${what} ${count}`).join('; ')}`);

    t.equal(killed, kills, `every kill was a SIGKILL of a serving server (${killed})`);
    t.equal(ledger.checks.get('the server restarts cleanly and /readyz is 200')!.ok, kills, 'every restart came up cleanly with /readyz 200');
    for (const check of [...WRITE_CHECKS, ...OTHER_CHECKS]) {
      const { ok, failed } = ledger.checks.get(check)!;
      t.same(failed, [], `${check}: ${ok} passed, ${failed.length} failed`);
    }
    t.equal(ledger.lost(), 0, `lost = ${ledger.lost()} of ${ledger.writesChecked()} checks of acknowledged writes`);
    t.same(ledger.problems, [], 'no 5xx, no refusal of a live credential, no failed CLI run, no error logged');
    // The run exercised what it claims to: every kind of write was acknowledged at least once.
    const kinds = ['signup', 'email verification', 'login', 'code exchange', 'refresh rotation', 'client credentials token', 'device authorization', 'device approval'];
    for (const what of [...kinds, ...CLI_WRITES.map((w) => `cli ${w}`)]) {
      t.ok((ledger.acks.get(what) ?? 0) > 0, `some ${what} acknowledged (${ledger.acks.get(what) ?? 0})`);
    }
  });
}
