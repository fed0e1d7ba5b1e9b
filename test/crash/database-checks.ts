import { createHash } from 'node:crypto';
import type { CheckDeps } from './checks.ts';
import type { DatabaseSnapshot } from './database-reader.ts';

const tokenId = (value: string) => createHash('sha256').update(value, 'utf8').digest('base64url');

/** The acknowledged state against the database as a reader that is not Gatehouse sees it. */
export function checkDatabase(d: CheckDeps, db: DatabaseSnapshot, verifiedIfUsed: string[]): void {
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
