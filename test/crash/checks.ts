import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import type { GatehouseDeployment } from '../helpers/gatehouse-process.ts';
import type { Family } from './acknowledged-state.ts';
import { readDatabase, type DatabaseSnapshot } from './database-reader.ts';
import { answerOf, explainError } from './answers.ts';
import { DEVICE_GRANT, type Clients } from './traffic.ts';

export interface CheckDeps extends Clients {
  gh: GatehouseDeployment;
  api: string;
  /** REFRESH_GRACE_SECONDS of the server. */
  graceSeconds: number;
}

/** At most this many requests at once while checking (the machine is small and shared). */
const CONCURRENCY = 6;

async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

const tokenId = (value: string) => createHash('sha256').update(value, 'utf8').digest('base64url');

/**
 * After a restart, before any new traffic: every acknowledged write is checked, over HTTP where a
 * client would notice it, then in the database by a reader that is not Gatehouse. Families beyond
 * `keepFamilies` are retired through their predecessor check (which may revoke them, by design).
 */
export async function checkAfterRestart(d: CheckDeps, keepFamilies: number, serverStartedAt: number): Promise<void> {
  const verifiedIfUsed: string[] = [];
  await Promise.all([
    eachLimited([...d.state.families], (f) => checkFamily(d, f)),
    eachLimited(d.state.codes.splice(0), (code) => checkCode(d, code)),
    eachLimited(d.state.devices.splice(0), (device) => checkDevice(d, device)),
    eachLimited(d.state.cliClients.filter((c) => !c.checked), (client) => checkCliClient(d, client)),
    eachLimited(d.state.pending.filter((p) => p.interrupted), (p) => checkInterruptedVerification(d, p, verifiedIfUsed)),
    checkKeysAndAccessTokens(d, serverStartedAt),
    forgetLostMails(d),
  ]);
  const retiring = d.state.families.slice(0, Math.max(0, d.state.families.length - keepFamilies));
  await eachLimited(retiring, (f) => retireFamily(d, f));
  checkDatabase(d, await readDatabase(d.gh), verifiedIfUsed);
}

const REFRESH = 'refresh token acknowledged before the kill: works' as const;

/**
 * The last acknowledged refresh token works: one successor, which becomes the family's token. When
 * the kill cut a rotation with it, the server may have rotated it without the client seeing the
 * answer: inside the grace window the retry must get that answer (or a fresh rotation). After the
 * window a retry looks exactly like the replay of a stolen token, and refusing it is the design; the
 * test cannot demand more then, and counts it apart.
 */
async function checkFamily(d: CheckDeps, family: Family): Promise<void> {
  const token = family.chain.at(-1)!;
  // Client-side age: the server received the request after it was sent, so its age is no larger.
  const age = family.interruptedAt === null ? null : (Date.now() - family.interruptedAt) / 1000;
  const when = age === null ? 'no rotation in flight' : `after an interrupted rotation, retried ${age.toFixed(1)} s after it was sent`;
  try {
    const tokens = await oidc.refreshTokenGrant(d.web, token);
    if (!tokens.refresh_token) throw new Error('no refresh token in the answer');
    family.chain.push(tokens.refresh_token);
    family.receivedAt.push(Date.now());
    family.interruptedAt = null;
    d.ledger.ack('refresh rotation');
    d.ledger.check(REFRESH, true, '');
    d.ledger.note(`refresh after restart (${age === null ? 'no rotation in flight' : 'after an interrupted rotation'}): worked`);
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    const answer = await explainError(err);
    d.state.dropFamily(family);
    if (age !== null && age > d.graceSeconds) {
      return d.ledger.note(`refresh after an interrupted rotation, retried after the grace window: refused ${answer}`);
    }
    d.ledger.check(REFRESH, false, `family ${family.id} (${when}, ${family.chain.length} tokens acknowledged): ${answer}`);
    d.ledger.note(`refresh after restart (${age === null ? 'no rotation in flight' : 'after an interrupted rotation, inside the grace window'}): refused ${answer}`);
  }
}

async function checkCode(d: CheckDeps, code: { callback: URL; verifier: string; state: string }): Promise<void> {
  try {
    const tokens = await oidc.authorizationCodeGrant(d.web, code.callback, { pkceCodeVerifier: code.verifier, expectedState: code.state });
    d.state.newFamily(tokens.refresh_token!);
    d.ledger.ack('code exchange');
    d.ledger.check('delivered code: exchangeable', true, '');
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    d.ledger.check('delivered code: exchangeable', false, `a code delivered before the kill: ${await explainError(err)}`);
  }
}

/** What a poll must answer for each stage the kill left the device request in. */
async function checkDevice(d: CheckDeps, device: { deviceCode: string; stage: string }): Promise<void> {
  let outcome: string;
  try {
    await oidc.genericGrantRequest(d.tv, DEVICE_GRANT, { device_code: device.deviceCode });
    outcome = 'tokens';
    d.ledger.ack('device token');
  } catch (err) {
    const answer = answerOf(err);
    if (!answer) throw err;
    outcome = ['authorization_pending', 'slow_down'].includes(answer.error) ? 'pending' : `${answer.status} ${answer.error}`;
  }
  const detail = `a device request left ${device.stage} by the kill: ${outcome}`;
  switch (device.stage) {
    case 'issued':
      return d.ledger.check('device authorization: still pending', outcome === 'pending', detail);
    case 'approved':
      return d.ledger.check('device approval: the device gets its tokens', outcome === 'tokens', detail);
    case 'polling':
      // The approval was acknowledged; the token request was cut: tokens now, or the code was used.
      return d.ledger.check('device approval: the device gets its tokens', outcome === 'tokens' || outcome === '400 invalid_grant', detail);
    default:
      // The approval itself was cut: either outcome is fine, anything else is not.
      if (outcome !== 'tokens' && outcome !== 'pending') d.ledger.problem(detail);
  }
}

async function checkCliClient(d: CheckDeps, client: { clientId: string; secret: string; deleted: boolean; checked: boolean }): Promise<void> {
  const config = new oidc.Configuration(d.web.serverMetadata(), client.clientId, client.secret);
  oidc.allowInsecureRequests(config);
  let outcome: string;
  try {
    await oidc.clientCredentialsGrant(config);
    outcome = 'tokens';
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    outcome = await explainError(err);
  }
  client.checked = true;
  if (client.deleted) {
    d.ledger.check('cli clients delete: the row is gone and the client is refused', outcome === '401 invalid_client', `deleted client ${client.clientId}: ${outcome}`);
  } else {
    d.ledger.check('cli clients create: the row exists and the client gets tokens', outcome === 'tokens', `created client ${client.clientId}: ${outcome}`);
  }
}

/** The kill cut a verification: presenting the token again confirms the address, or the token was
 * used, and then the address must be verified (never a used token with an unconfirmed address). */
async function checkInterruptedVerification(d: CheckDeps, pending: { email: string; token?: string }, verifiedIfUsed: string[]): Promise<void> {
  const res = await fetch(`${d.url}/account/verify-email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: pending.token }),
  });
  const body = res.status === 204 ? {} : ((await res.json()) as { error?: string });
  d.state.pending.splice(d.state.pending.indexOf(pending as never), 1);
  const account = d.state.accounts.get(pending.email)!;
  if (res.status === 204) {
    account.verified = true;
    d.ledger.ack('email verification');
    return d.ledger.check('interrupted email verification: the token is unused, or the address is verified', true, '');
  }
  if (res.status === 400 && body.error === 'token_used') {
    // Used by the request the kill cut: the database must show the address confirmed (checkDatabase).
    verifiedIfUsed.push(pending.email);
    return;
  }
  d.ledger.check('interrupted email verification: the token is unused, or the address is verified', false, `${pending.email}: ${res.status} ${body.error}`);
}

/** Signups acknowledged just before a kill whose mail (sent in the background) never got written. */
async function forgetLostMails(d: CheckDeps): Promise<void> {
  await d.outbox.scan();
  for (const p of [...d.state.pending]) {
    if (p.interrupted || p.token || d.outbox.verificationToken(p.email)) continue;
    d.state.pending.splice(d.state.pending.indexOf(p), 1);
    d.ledger.note('signup acknowledged, verification mail never written (the kill came first)');
  }
}

/**
 * Keys are files the server reads at start (and re-reads every KEY_RELOAD_INTERVAL): a rotation
 * acknowledged before this server process started must be in its JWKS; one that finished while it
 * started is a matter of the reload interval, not of the crash, and waits for the next restart.
 */
async function checkKeysAndAccessTokens(d: CheckDeps, serverStartedAt: number): Promise<void> {
  const res = await fetch(d.web.serverMetadata().jwks_uri!);
  const jwks = (await res.json()) as JSONWebKeySet;
  const published = new Set(jwks.keys.map((k) => k.kid));
  const keyring = d.state.keyring;
  if (keyring && keyring.ackedAt < serverStartedAt) {
    for (const kid of keyring.kids) {
      d.ledger.check('cli keys rotate: every published key is in the JWKS', published.has(kid), `key ${kid} is missing from the JWKS`);
    }
  }
  const keySet = createLocalJWKSet(jwks);
  for (const token of d.state.accessTokens.splice(0)) {
    try {
      await jwtVerify(token, keySet, { issuer: d.url, audience: d.api, typ: 'at+jwt' });
      d.ledger.check('client credentials token: verifies against the JWKS', true, '');
    } catch (err) {
      d.ledger.check('client credentials token: verifies against the JWKS', false, `${(err as { code?: string }).code ?? (err as Error).message}`);
    }
  }
}

const PREDECESSOR = 'predecessor (and an older used token): refused, or inside the grace window the same successor' as const;
const REVOKED = 'reuse outside the grace window revokes the family' as const;

/**
 * The token acknowledged before the kill (now used once more by checkFamily) must have a dead
 * predecessor. Inside the grace window of its rotation the predecessor may get the answer it got then
 * (the very successor the client holds, never a new token); outside it must be refused, and that reuse
 * revokes the family. The predecessor is presented first; if its window is still open, the newest
 * older token of the family whose window has closed is presented too, so that the strict rule is
 * checked as well. Either way the family leaves the test.
 */
async function retireFamily(d: CheckDeps, family: Family): Promise<void> {
  d.state.dropFamily(family);
  const { chain, receivedAt } = family;
  if (chain.length < 3) return d.ledger.note('family retired without a predecessor to check');
  const now = Date.now();
  // The server rotated token j before the client received token j + 1.
  const closed = (j: number) => now - receivedAt[j + 1]! > (d.graceSeconds + 1) * 1000;
  const predecessor = chain.length - 3;
  let older = predecessor;
  while (older >= 0 && !closed(older)) older -= 1;
  if (older !== predecessor) await presentUsed(d, family, predecessor, false);
  if (older < 0 || !(await presentUsed(d, family, older, true))) return;
  try {
    await oidc.refreshTokenGrant(d.web, chain.at(-1)!);
    d.ledger.check(REVOKED, false, `family ${family.id}: its latest token still works`);
  } catch (err) {
    if (answerOf(err) === undefined) throw err;
    d.ledger.check(REVOKED, answerOf(err)!.error === 'invalid_grant', `family ${family.id}: ${await explainError(err)}`);
  }
}

/** Presents the used token chain[j]; true when it was refused. */
async function presentUsed(d: CheckDeps, family: Family, j: number, outside: boolean): Promise<boolean> {
  const where = `${outside ? 'outside' : 'inside'} the grace window`;
  const which = j === family.chain.length - 3 ? 'the predecessor' : `an older token (${family.chain.length - 2 - j} rotations back)`;
  try {
    const tokens = await oidc.refreshTokenGrant(d.web, family.chain[j]!);
    const same = tokens.refresh_token === family.chain[j + 1];
    d.ledger.check(PREDECESSOR, same && !outside, `family ${family.id}: ${which} got ${same ? 'the same successor' : 'a new token'} ${where}`);
    if (same) d.ledger.note(`used token ${where}: the same successor again`);
    return false;
  } catch (err) {
    const answer = answerOf(err);
    if (!answer) throw err;
    d.ledger.check(PREDECESSOR, answer.error === 'invalid_grant', `family ${family.id}: ${which} got ${await explainError(err)} ${where}`);
    if (answer.error === 'invalid_grant') d.ledger.note(`used token ${where}: refused`);
    return answer.error === 'invalid_grant';
  }
}

function checkDatabase(d: CheckDeps, db: DatabaseSnapshot, verifiedIfUsed: string[]): void {
  const { ledger, state } = d;
  for (const account of state.accounts.values()) {
    const row = db.users.get(account.email);
    ledger.check(account.byCli ? 'cli users create: the user exists' : 'signup: the user exists', Boolean(row), `${account.email} is missing`);
    if (account.verified && !account.byCli) {
      ledger.check('email verification: the address is verified', row?.verified === true, `${account.email} is not verified`);
    }
    if (account.logins > 0) {
      const events = db.logins.get(account.email) ?? 0;
      ledger.check('login: its audit event exists', events >= account.logins, `${account.email}: ${account.logins} logins acknowledged, ${events} audit events`);
    }
  }
  for (const email of verifiedIfUsed) {
    const verified = db.users.get(email)?.verified === true;
    ledger.check('interrupted email verification: the token is unused, or the address is verified', verified, `${email}: the token is used but the address is not verified`);
    // Torn, the account stays unverified (its owner would have to ask for a new link) and out of the logins.
    state.accounts.get(email)!.verified = verified;
  }
  for (const [email, banned] of state.banned) {
    const status = db.users.get(email)?.status;
    ledger.check('cli users ban/unban: the status is the last acknowledged', status === (banned ? 'banned' : 'active'), `${email} is ${status}, expected ${banned ? 'banned' : 'active'}`);
  }
  for (const [ip, banned] of state.ipBans) {
    ledger.check('cli ips ban/unban: the ban is there or gone as last acknowledged', db.ipBans.has(ip) === banned, `${ip}: ${banned ? 'ban missing' : 'lifted ban still there'}`);
  }
  for (const audience of state.resources) ledger.check('cli resources create: the row exists', db.resources.has(audience), `${audience} is missing`);
  for (const client of state.cliClients) {
    if (client.deleted) ledger.check('cli clients delete: the row is gone and the client is refused', !db.clients.has(client.clientId), `${client.clientId} is still there`);
    else ledger.check('cli clients create: the row exists and the client gets tokens', db.clients.has(client.clientId), `${client.clientId} is missing`);
  }

  // No fork: in every grant at most one refresh token is unused, and in a tracked family it is the
  // one its client holds.
  const live = new Map<string, string[]>();
  for (const row of db.refreshTokens) {
    if (row.consumed || !row.grantId) continue;
    live.set(row.grantId, [...(live.get(row.grantId) ?? []), row.id]);
  }
  const byId = new Map(db.refreshTokens.map((r) => [r.id, r]));
  for (const family of state.families) {
    const row = byId.get(tokenId(family.chain.at(-1)!));
    const others = row?.grantId ? (live.get(row.grantId) ?? []).filter((id) => id !== row.id) : [];
    ledger.check(
      'no family has two live refresh tokens',
      Boolean(row && !row.consumed && others.length === 0),
      `family ${family.id}: ${!row ? 'its token is not stored' : row.consumed ? 'its token is used' : `${others.length} other live tokens`}`,
    );
  }
  for (const [grant, ids] of live) {
    if (ids.length > 1) ledger.check('no family has two live refresh tokens', false, `grant ${grant.slice(0, 8)}…: ${ids.length} live refresh tokens`);
  }
  if (db.integrity !== null) ledger.check('database integrity', db.integrity === 'ok', `integrity_check: ${db.integrity}`);
}
