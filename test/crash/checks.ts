import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import type { GatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { checkDatabase } from './database-checks.ts';
import { readDatabase } from './database-reader.ts';
import { checkFamily, retireFamily } from './family-checks.ts';
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
      // The approval itself was cut, and the person was never told it worked. oidc-provider records an
      // approval in several writes (grant, then device code); cut between them, the code is refused
      // and the device has to start again. Nothing acknowledged is lost, so that is counted, not failed.
      if (outcome === '400 invalid_grant') return d.ledger.note('device approval cut: the device starts again');
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

