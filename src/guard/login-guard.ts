import type { GuardSettings } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { sha256 } from '../lib/digest.js';
import { findIpBan, type IpBanRepository } from './bans.js';
import { clear, refund, admitAccount, admitConsecutive, admitWindow } from './policy.js';
import { decideAndWrite, EMPTY, type AttemptStore, type Decision } from './counter.js';
import { ipUnit } from './ip.js';
import { createKnownBlocks } from './known-blocks.js';

export type RefusalReason = 'ip_banned' | 'ip_blocked' | 'throttled' | 'account_locked';

export interface Refusal {
  reason: RefusalReason;
  /** Seconds until a retry can succeed (0 when it never will, e.g. a permanent ban). */
  retryAfter: number;
  /** True when this refusal started a block (worth an audit event). */
  started: boolean;
}

/** What a login attempt reserved, to settle when its outcome is known. */
export interface LoginTicket {
  ipKey: string;
  pairKey: string;
  accountKey: string;
  /** The attempt counts in the account's pool (no trusted device, or one that lost its trust). */
  countedOnAccount: boolean;
  /** The device counter of a browser that presented a device cookie (cleared on success). */
  deviceKey: string | null;
  /** This attempt was the one that locked the account (if it fails, the lock stands). */
  lockUntil: number | null;
}

export interface LoginGuardDeps {
  store: AttemptStore;
  bans: IpBanRepository;
  clock: Clock;
  settings: GuardSettings;
}

const retryAfter = (retryAt: number, now: number) => Math.max(1, Math.ceil((retryAt - now) / 1000));

/**
 * The layered login defense (docs/architecture.md, Brute-force defense). All checks are cheap and run before any password
 * hash; every counter lives in the database and changes by compare-and-set, so several instances
 * enforce one limit and simultaneous attempts are counted one by one.
 *   1. an operator's IP ban;
 *   2. failed logins per IP (IPv6 /64) across accounts: spraying and stuffing;
 *   3. attempts per account from one IP — or from one trusted browser — first free, then waiting;
 *   4. consecutive failures per account from anywhere: a lock that doubles, and at
 *      PASSWORD_DISABLE_AFTER a disabled password; both skipped for a browser that has logged into
 *      this account before (until it fails PASSWORD_DISABLE_AFTER times in a row itself), so an
 *      attacker cannot lock the real user out.
 * Unknown emails go through exactly the same steps (no enumeration through throttling).
 */
export function createLoginGuard(deps: LoginGuardDeps) {
  const { store, settings } = deps;
  const now = () => deps.clock.now().getTime();
  const account = (email: string) => sha256(email.toLowerCase());
  const blocks = createKnownBlocks();
  /** One attempt on an IP's window (failures, signups, resets): refused from memory while a block
   * this process has seen runs (known-blocks.ts says why that is the database's answer too). */
  const admitIpWindow = async (key: string, t: number, limit: number): Promise<Decision> => {
    const until = blocks.until(key, t);
    if (until !== undefined) return { admit: false, retryAt: until };
    const d = await decideAndWrite(store, key, t, (c) => admitWindow(c, t, limit, settings.ipWindow, settings.ipBlock));
    if (!d.admit) blocks.remember(key, d.retryAt, t);
    return d;
  };

  return {
    /**
     * `factor: 'second_factor'` (a TOTP or recovery code after the right password) counts in the same
     * IP window as passwords, but in its own per-account and per-pair counters: a right password
     * clears the password counters, and must not hand someone who knows it fresh guesses at the code.
     */
    async admit(input: { email: string; ip: string; device?: string; factor?: 'password' | 'second_factor' }): Promise<{ ok: true; ticket: LoginTicket } | { ok: false; refusal: Refusal }> {
      const t = now();
      const scope = input.factor === 'second_factor' ? 'login2f' : 'login';
      const ban = await findIpBan(deps.bans, deps.clock, input.ip);
      if (ban) return { ok: false, refusal: { reason: 'ip_banned', retryAfter: ban.expiresAt ? retryAfter(ban.expiresAt.getTime(), t) : 0, started: false } };

      const ipKey = `login:ip:${ipUnit(input.ip)}`;
      const ip = await admitIpWindow(ipKey, t, settings.ipFailures);
      if (!ip.admit) return { ok: false, refusal: { reason: 'ip_blocked', retryAfter: retryAfter(ip.retryAt, t), started: Boolean(ip.next) } };

      const who = account(input.email);
      // A trusted browser stays trusted until it has itself failed PASSWORD_DISABLE_AFTER times in a
      // row; then it is one more unknown browser, subject to the account's lock and disabled password.
      const deviceKey = input.device ? `${scope}:device:${sha256(input.device)}:${who}` : null;
      const trusted = deviceKey !== null && ((await store.get(deviceKey))?.count ?? 0) < settings.disableAfter;
      const pairKey = trusted ? deviceKey : `${scope}:pair:${who}:${ipUnit(input.ip)}`;
      const pair = await decideAndWrite(store, pairKey, t, (c) => admitConsecutive(c, t, settings));
      if (!pair.admit) {
        await decideAndWrite(store, ipKey, t, refund);
        return { ok: false, refusal: { reason: 'throttled', retryAfter: retryAfter(pair.retryAt, t), started: false } };
      }

      const accountKey = `${scope}:account:${who}`;
      const countedOnAccount = !trusted;
      let lockUntil: number | null = null;
      if (countedOnAccount) {
        let before = 0;
        const acct = await decideAndWrite(store, accountKey, t, (c) => {
          before = c.lockedUntil;
          return admitAccount(c, t, settings);
        });
        if (!acct.admit) {
          await decideAndWrite(store, ipKey, t, refund);
          return { ok: false, refusal: { reason: 'account_locked', retryAfter: retryAfter(acct.retryAt, t), started: false } };
        }
        if (acct.next.lockedUntil > t && acct.next.lockedUntil !== before) lockUntil = acct.next.lockedUntil;
      }
      return { ok: true, ticket: { ipKey, pairKey, accountKey, countedOnAccount, deviceKey, lockUntil } };
    },

    /** The password was right: this IP's attempt does not count as a failure and the pair starts
     * afresh. The account's count starts afresh only for a login from an unknown browser: the owner
     * logging in from a trusted device must not hand an ongoing attack a fresh allowance. */
    async succeeded(ticket: LoginTicket): Promise<void> {
      const t = now();
      await decideAndWrite(store, ticket.ipKey, t, refund);
      await decideAndWrite(store, ticket.pairKey, t, clear);
      if (ticket.deviceKey && ticket.deviceKey !== ticket.pairKey) await decideAndWrite(store, ticket.deviceKey, t, clear);
      if (ticket.countedOnAccount) await decideAndWrite(store, ticket.accountKey, t, clear);
    },

    /**
     * The attempt ended without a verdict (the database failed between admission and the password's
     * answer): its reservations are given back, so a database blip does not throttle or lock out the
     * people signing in at that moment. The client learnt nothing about the password.
     */
    async abandoned(ticket: LoginTicket): Promise<void> {
      const t = now();
      await decideAndWrite(store, ticket.ipKey, t, refund);
      await decideAndWrite(store, ticket.pairKey, t, refund);
      if (ticket.countedOnAccount) await decideAndWrite(store, ticket.accountKey, t, refund);
    },

    /**
     * The password was wrong. Returns the consecutive failures of the pool this attempt counted in —
     * the account's (browsers it does not know) or the trusted device's own — and, when this failure
     * locked the account, until when. Only the account's pool disables the password (login.ts).
     */
    async failed(ticket: LoginTicket): Promise<{ pool: 'account' | 'device'; consecutive: number; lockedUntil: number | null }> {
      const c = (await store.get(ticket.countedOnAccount ? ticket.accountKey : ticket.pairKey)) ?? EMPTY;
      return ticket.countedOnAccount ? { pool: 'account', consecutive: c.count, lockedUntil: ticket.lockUntil } : { pool: 'device', consecutive: c.count, lockedUntil: null };
    },

    /** An operator's unlock (or a password reset): the account's lock and failure count go. */
    async unlock(email: string): Promise<void> {
      await decideAndWrite(store, `login:account:${account(email)}`, now(), clear);
      await decideAndWrite(store, `login2f:account:${account(email)}`, now(), clear);
    },

    /** Signups and reset requests per IP: at most the configured number per window. */
    async admitRate(kind: 'signup' | 'reset', ip: string): Promise<{ ok: true } | { ok: false; refusal: Refusal }> {
      const t = now();
      const ban = await findIpBan(deps.bans, deps.clock, ip);
      if (ban) return { ok: false, refusal: { reason: 'ip_banned', retryAfter: ban.expiresAt ? retryAfter(ban.expiresAt.getTime(), t) : 0, started: false } };
      const limit = kind === 'signup' ? settings.ipSignups : settings.ipResets;
      const d = await admitIpWindow(`${kind}:ip:${ipUnit(ip)}`, t, limit);
      return d.admit ? { ok: true } : { ok: false, refusal: { reason: 'ip_blocked', retryAfter: retryAfter(d.retryAt, t), started: Boolean(d.next) } };
    },

    /**
     * One submission of a device user code (RFC 8628 §5.1): reserved on the IP's failure window that
     * failed logins count on, so guessing codes and guessing passwords share one budget per IP.
     */
    async admitUserCode(ip: string): Promise<{ ok: true } | { ok: false; refusal: Refusal }> {
      const t = now();
      const ban = await findIpBan(deps.bans, deps.clock, ip);
      if (ban) return { ok: false, refusal: { reason: 'ip_banned', retryAfter: ban.expiresAt ? retryAfter(ban.expiresAt.getTime(), t) : 0, started: false } };
      const d = await admitIpWindow(`login:ip:${ipUnit(ip)}`, t, settings.ipFailures);
      return d.admit ? { ok: true } : { ok: false, refusal: { reason: 'ip_blocked', retryAfter: retryAfter(d.retryAt, t), started: Boolean(d.next) } };
    },

    /** The user code was right: its reserved attempt is not a failure. */
    async userCodeRight(ip: string): Promise<void> {
      await decideAndWrite(store, `login:ip:${ipUnit(ip)}`, now(), refund);
    },

    /**
     * A client presented a wrong secret: counted per client and IP (free attempts, then doubling
     * waits) and per IP (the failure window). Returns a refusal once over a limit. A right secret
     * costs nothing here: 256-bit secrets are not guessed, so the token endpoint's fast path stays a
     * single digest comparison.
     */
    async clientFailed(clientId: string, ip: string): Promise<Refusal | undefined> {
      const t = now();
      const ipDecision = await admitIpWindow(`client:ip:${ipUnit(ip)}`, t, settings.ipFailures);
      if (!ipDecision.admit) return { reason: 'ip_blocked', retryAfter: retryAfter(ipDecision.retryAt, t), started: Boolean(ipDecision.next) };
      const pair = await decideAndWrite(store, `client:pair:${sha256(clientId)}:${ipUnit(ip)}`, t, (c) => admitConsecutive(c, t, settings));
      if (!pair.admit) return { reason: 'throttled', retryAfter: retryAfter(pair.retryAt, t), started: false };
      // Admitted means this failure was within the free attempts or after the wait: it may be told
      // invalid_client; the next one (before nextAllowedAt) is refused.
      return undefined;
    },

    /** Is this IP banned by an operator? */
    async ipBan(ip: string): Promise<Refusal | undefined> {
      const t = now();
      const ban = await findIpBan(deps.bans, deps.clock, ip);
      return ban ? { reason: 'ip_banned', retryAfter: ban.expiresAt ? retryAfter(ban.expiresAt.getTime(), t) : 0, started: false } : undefined;
    },
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;
