/**
 * The suite's bookkeeping: what the server acknowledged (a 2xx, a redirect carrying a code, or CLI
 * exit 0), what was checked after each restart, and what went wrong. A check of an acknowledged write
 * that fails counts as lost.
 */

/** Checks that an acknowledged write is still there after a restart. */
export const WRITE_CHECKS = [
  'signup: the user exists',
  'email verification: the address is verified',
  'login: its audit event exists',
  'delivered code: exchangeable',
  'refresh token acknowledged before the kill: works',
  'client credentials token: verifies against the JWKS',
  'device authorization: still pending',
  'device approval: the device gets its tokens',
  'cli clients create: the row exists and the client gets tokens',
  'cli clients delete: the row is gone and the client is refused',
  'cli resources create: the row exists',
  'cli users create: the user exists',
  'cli users ban/unban: the status is the last acknowledged',
  'cli ips ban/unban: the ban is there or gone as last acknowledged',
  'cli keys rotate: every published key is in the JWKS',
] as const;
export type WriteCheck = (typeof WRITE_CHECKS)[number];

/** Checks of the other promises: no fork, the used token is dead, the database is sound. */
export const OTHER_CHECKS = [
  'no family has two live refresh tokens',
  'predecessor (and an older used token): refused, or inside the grace window the same successor',
  'reuse outside the grace window revokes the family',
  'interrupted email verification: the token is unused, or the address is verified',
  'the server restarts cleanly and /readyz is 200',
  'database integrity',
] as const;
export type OtherCheck = (typeof OTHER_CHECKS)[number];
export type CheckKind = WriteCheck | OtherCheck;

export interface CheckTally {
  ok: number;
  failed: string[];
}

export class Ledger {
  readonly acks = new Map<string, number>();
  readonly checks = new Map<CheckKind, CheckTally>();
  readonly notes = new Map<string, number>();
  /** Answers no client should ever get (a 5xx, an unexpected refusal) and failed CLI runs. */
  readonly problems: string[] = [];

  constructor() {
    for (const kind of [...WRITE_CHECKS, ...OTHER_CHECKS]) this.checks.set(kind, { ok: 0, failed: [] });
  }

  ack(kind: string): void {
    this.acks.set(kind, (this.acks.get(kind) ?? 0) + 1);
  }

  note(kind: string, n = 1): void {
    this.notes.set(kind, (this.notes.get(kind) ?? 0) + n);
  }

  check(kind: CheckKind, ok: boolean, detail: string): void {
    const tally = this.checks.get(kind)!;
    if (ok) tally.ok += 1;
    else tally.failed.push(detail);
  }

  problem(detail: string): void {
    this.problems.push(detail);
  }

  /** Acknowledged writes checked after a restart (each time one was checked). */
  writesChecked(): number {
    return WRITE_CHECKS.reduce((n, kind) => n + this.checks.get(kind)!.ok + this.checks.get(kind)!.failed.length, 0);
  }

  lost(): number {
    return WRITE_CHECKS.reduce((n, kind) => n + this.checks.get(kind)!.failed.length, 0);
  }

  totalAcks(): number {
    return [...this.acks.values()].reduce((a, b) => a + b, 0);
  }
}
