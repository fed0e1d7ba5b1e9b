import * as oidc from 'openid-client';
import { startAuthorization } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent, type Step } from '../helpers/user-agent.ts';
import type { Account, AcknowledgedState } from './acknowledged-state.ts';
import { answerOf, explainError } from './answers.ts';
import { Interrupted, type Cycle } from './cycle.ts';
import type { Ledger } from './ledger.ts';
import type { OutboxWatch } from './outbox-watch.ts';
import type { Prng } from './prng.ts';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Signups per cycle: enough to keep new accounts coming without flooding argon2. */
const SIGNUPS_PER_CYCLE = 3;

/** Everything the simulated clients share. */
export interface Clients {
  url: string;
  /** A confidential web app: authorization code + refresh tokens (offline_access). */
  web: oidc.Configuration;
  redirectUri: string;
  /** A public TV app: device flow. */
  tv: oidc.Configuration;
  /** A backend job: client credentials. */
  job: oidc.Configuration;
  state: AcknowledgedState;
  ledger: Ledger;
  prng: Prng;
  outbox: OutboxWatch;
  /** A new, unique email address and an acceptable password for it. */
  newCredentials(prefix: string): { email: string; password: string };
}

/**
 * Runs one client until the kill. The client records what each answer acknowledged as it goes; a
 * request the kill cut off (no answer) simply ends the client. Any other error is a problem: the
 * server failed a client before the kill.
 */
export async function runClient(name: string, cycle: Cycle, ledger: Ledger, once: () => Promise<void>): Promise<void> {
  cycle.join();
  try {
    while (!cycle.killSent) await once();
  } catch (err) {
    if (err instanceof Interrupted || (cycle.killSent && answerOf(err) === undefined)) return;
    ledger.problem(`${name}: ${await explainError(err)}`);
  } finally {
    cycle.leave();
  }
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Signs people up and confirms their addresses with the link from the outbox (JSON API). */
export function signupClient(c: Clients, cycle: Cycle, cap = SIGNUPS_PER_CYCLE): () => Promise<void> {
  let signups = 0;
  return async () => {
    await c.outbox.scan();
    const ready = c.state.pending.find((p) => !p.interrupted && (p.token ??= c.outbox.verificationToken(p.email)));
    if (ready) {
      cycle.step();
      ready.interrupted = true;
      const res = await postJson(`${c.url}/account/verify-email`, { token: ready.token });
      ready.interrupted = false;
      c.state.pending.splice(c.state.pending.indexOf(ready), 1);
      if (res.status !== 204) throw new Error(`verify-email answered ${res.status} ${JSON.stringify(res.json)}`);
      c.state.accounts.get(ready.email)!.verified = true;
      c.ledger.ack('email verification');
      return;
    }
    if (signups >= cap) return cycle.nextStep();
    signups += 1;
    const { email, password } = c.newCredentials('signup');
    cycle.step();
    const res = await postJson(`${c.url}/account/signup`, { email, password });
    if (res.status === 429) return c.ledger.note('signup throttled (429)');
    if (res.status !== 202) throw new Error(`signup answered ${res.status} ${JSON.stringify(res.json)}`);
    c.state.accounts.set(email, { email, password, verified: false, logins: 0, byCli: false });
    c.state.pending.push({ email, interrupted: false });
    c.ledger.ack('signup');
  };
}

/**
 * A person in a browser on the interaction pages: signs in, consents, until `done` says the journey
 * is over. Returns that last step, or undefined when the login was throttled (429, not acknowledged).
 */
async function throughPages(c: Clients, cycle: Cycle, ua: UserAgent, url: string, account: Account, done: (step: Step) => boolean): Promise<Step | undefined> {
  const request = (href: string, init?: Parameters<UserAgent['request']>[1]) => {
    cycle.step();
    return ua.request(href, init);
  };
  let step = await request(url);
  for (let hops = 0; hops < 16; hops++) {
    if (done(step)) return step;
    if (step.location) {
      step = await request(step.location);
      continue;
    }
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(step.url)?.[1];
    if (step.status !== 200 || !uid) throw new Error(`unexpected page ${step.status} at ${step.url}: ${step.body.slice(0, 200)}`);
    const base = new URL(step.url).origin;
    const csrf = hiddenField(step.body, 'csrf');
    if (step.body.includes('name="password"')) {
      step = await request(`${base}/interaction/${uid}/login`, { form: { csrf, email: account.email, password: account.password } });
      if (step.status === 429) {
        c.ledger.note('login throttled (429)');
        return undefined;
      }
      if (step.status !== 303) throw new Error(`login of ${account.email} answered ${step.status}: ${step.body.slice(0, 200)}`);
      account.logins += 1;
      c.ledger.ack('login');
    } else {
      step = await request(`${base}/interaction/${uid}/confirm`, { form: { csrf } });
    }
  }
  throw new Error(`the pages did not finish: ${step.status} at ${step.url}`);
}

/** The web app: a login with consent to offline_access, then the code exchange: a new refresh family. */
export function webClient(c: Clients, cycle: Cycle): () => Promise<void> {
  return async () => {
    const account = c.prng.pick(c.state.verifiedAccounts());
    const start = await startAuthorization(c.web, { redirect_uri: c.redirectUri, scope: 'openid email offline_access', prompt: 'consent' });
    const last = await throughPages(c, cycle, new UserAgent(), start.url.href, account, (s) => Boolean(s.location?.startsWith(c.redirectUri)));
    if (!last) return;
    const delivered = { callback: new URL(last.location!), verifier: start.verifier, state: start.state };
    c.state.codes.push(delivered);
    c.ledger.ack('code delivered');
    // The app's callback runs a moment later (a few requests of the other clients): a kill may fall between.
    await cycle.moment();
    cycle.step();
    // Presented now: from here on its fate after a kill is unknown (single use), so it leaves the list.
    c.state.codes.splice(c.state.codes.indexOf(delivered), 1);
    const tokens = await oidc.authorizationCodeGrant(c.web, delivered.callback, { pkceCodeVerifier: delivered.verifier, expectedState: delivered.state });
    if (!tokens.refresh_token) throw new Error('the code exchange gave no refresh token');
    c.state.newFamily(tokens.refresh_token);
    c.ledger.ack('code exchange');
  };
}

/** The web app's background refreshes: one rotation at a time per family, families picked at random. */
export function refreshClient(c: Clients, cycle: Cycle): () => Promise<void> {
  return async () => {
    const idle = c.state.families.filter((f) => !f.busy && f.interruptedAt === null);
    if (idle.length === 0) return cycle.nextStep();
    const family = c.prng.pick(idle);
    const token = family.chain.at(-1)!;
    family.busy = true;
    try {
      cycle.step();
      family.interruptedAt = Date.now();
      let tokens: oidc.TokenEndpointResponse;
      try {
        tokens = await oidc.refreshTokenGrant(c.web, token);
      } catch (err) {
        if (answerOf(err) === undefined) throw err;
        // Refused while the server was up: the family is broken; a problem, and it leaves the test.
        family.interruptedAt = null;
        c.state.dropFamily(family);
        throw err;
      }
      family.interruptedAt = null;
      if (!tokens.refresh_token) throw new Error('a rotation gave no refresh token');
      family.chain.push(tokens.refresh_token);
      family.receivedAt.push(Date.now());
      c.ledger.ack('refresh rotation');
    } finally {
      family.busy = false;
    }
  };
}

/** A backend job asking for an access token every moment. */
export function jobClient(c: Clients, cycle: Cycle): () => Promise<void> {
  return async () => {
    cycle.step();
    const tokens = await oidc.clientCredentialsGrant(c.job);
    c.state.accessTokens.push(tokens.access_token);
    c.ledger.ack('client credentials token');
    await cycle.moment();
  };
}

/** A TV: device authorization, a person approves it in a browser (login, consent), the TV polls. */
export function deviceClient(c: Clients, cycle: Cycle): () => Promise<void> {
  return async () => {
    cycle.step();
    const device = await oidc.initiateDeviceAuthorization(c.tv, { scope: 'openid email' });
    const request = { deviceCode: device.device_code, stage: 'issued' as 'issued' | 'approving' | 'approved' | 'polling' };
    c.state.devices.push(request);
    c.ledger.ack('device authorization');
    // The person reads the code off the screen: a moment passes.
    await cycle.moment();

    const account = c.prng.pick(c.state.verifiedAccounts());
    const ua = new UserAgent();
    cycle.step();
    const input = await ua.follow(device.verification_uri);
    cycle.step();
    const confirm = await ua.request(`${c.url}/device`, { form: { xsrf: hiddenField(input.body, 'xsrf'), user_code: device.user_code } });
    if (confirm.status !== 200) throw new Error(`the device code page answered ${confirm.status}`);
    // From the confirmation on, the code may be bound to the person: a kill leaves its state open.
    cycle.step();
    request.stage = 'approving';
    const started = await ua.request(`${c.url}/device`, {
      form: { xsrf: hiddenField(confirm.body, 'xsrf'), user_code: hiddenField(confirm.body, 'user_code'), confirm: 'yes' },
    });
    if (!started.location) throw new Error(`confirming the device code answered ${started.status}`);
    const last = await throughPages(c, cycle, ua, started.location, account, (s) => s.status === 200 && /Device connected/.test(s.body));
    if (!last) return;
    request.stage = 'approved';
    c.ledger.ack('device approval');

    // The TV polls at its interval: a moment later.
    await cycle.moment();
    cycle.step();
    request.stage = 'polling';
    await oidc.genericGrantRequest(c.tv, DEVICE_GRANT, { device_code: device.device_code });
    c.state.devices.splice(c.state.devices.indexOf(request), 1);
    c.ledger.ack('device token');
  };
}
