/** A registered WebAuthn credential (a passkey or a security key). Only public material is stored. */
export interface Passkey {
  /** The credential ID, base64url (chosen by the authenticator, unique). */
  id: string;
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  /** `multiDevice`: backup-eligible, i.e. a synced passkey (amr `swk`); `singleDevice`: bound to one authenticator (amr `hwk`). */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type ChallengePurpose = 'register' | 'sign_in';

/** A challenge waiting for its answer (see the `PasskeyChallenge` model). */
export interface PendingChallenge {
  /** SHA-256 of the challenge, base64url: the challenge itself is never stored. */
  hash: string;
  purpose: ChallengePurpose;
  /** SHA-256 of the interaction or session it was issued to. */
  binding: string;
  userId: string | null;
  expiresAt: Date;
}

/**
 * How many challenges may wait per binding (a sign-in's interaction, an account page's session) and
 * purpose: a page asks once for autofill and again for the button, and a person may try twice more.
 */
export const MAX_PENDING_CHALLENGES = 5;

/** The passkey port: credentials and their challenges. */
export interface PasskeyStore {
  /** False when the credential ID is already registered (the primary key decides). */
  insert(passkey: Passkey): Promise<boolean>;
  find(id: string): Promise<Passkey | undefined>;
  listByUser(userId: string): Promise<Passkey[]>;
  /**
   * Records a successful use: `counter` is the new signature counter, written only if the stored one
   * is still `previous` (the value the use was checked against). False when another use got there
   * first: of two sign-ins racing with one counter value (a cloned authenticator), one is recorded.
   */
  used(id: string, previous: number, counter: number, backedUp: boolean, at: Date): Promise<boolean>;
  rename(userId: string, id: string, name: string): Promise<boolean>;
  remove(userId: string, id: string): Promise<boolean>;
  removeAll(userId: string): Promise<number>;

  /**
   * Keeps a new challenge; of those waiting for one binding and purpose only the newest
   * MAX_PENDING_CHALLENGES stay, so asking again and again for options (each a row) cannot fill the
   * database: the rows are bounded by the sign-ins and sessions that exist.
   */
  saveChallenge(challenge: PendingChallenge): Promise<void>;
  /**
   * Takes a challenge for good, if it is still there, unexpired, and was issued for this purpose and
   * binding: one conditional delete whose row count decides, so of two racing answers exactly one wins.
   */
  consumeChallenge(hash: string, purpose: ChallengePurpose, binding: string, now: Date): Promise<PendingChallenge | undefined>;
  sweepExpired(now: Date): Promise<number>;
}

/** The reference implementation: Maps in memory. Unit tests and fakes. */
export function createMemoryPasskeyStore(): PasskeyStore {
  const passkeys = new Map<string, Passkey>();
  const challenges = new Map<string, PendingChallenge>();
  const copy = (p: Passkey | undefined) => (p ? { ...p, transports: [...p.transports] } : undefined);
  return {
    async insert(passkey) {
      if (passkeys.has(passkey.id)) return false;
      passkeys.set(passkey.id, copy(passkey)!);
      return true;
    },
    async find(id) {
      return copy(passkeys.get(id));
    },
    async listByUser(userId) {
      return [...passkeys.values()].filter((p) => p.userId === userId).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map((p) => copy(p)!);
    },
    async used(id, previous, counter, backedUp, at) {
      const p = passkeys.get(id);
      if (!p || p.counter !== previous) return false;
      Object.assign(p, { counter, backedUp, lastUsedAt: at });
      return true;
    },
    async rename(userId, id, name) {
      const p = passkeys.get(id);
      if (!p || p.userId !== userId) return false;
      p.name = name;
      return true;
    },
    async remove(userId, id) {
      return passkeys.get(id)?.userId === userId && passkeys.delete(id);
    },
    async removeAll(userId) {
      let n = 0;
      for (const p of [...passkeys.values()]) if (p.userId === userId && passkeys.delete(p.id)) n += 1;
      return n;
    },
    async saveChallenge(challenge) {
      challenges.set(challenge.hash, { ...challenge });
      const same = [...challenges.values()].filter((c) => c.binding === challenge.binding && c.purpose === challenge.purpose);
      same.sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime() || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      for (const old of same.slice(MAX_PENDING_CHALLENGES)) challenges.delete(old.hash);
    },
    async consumeChallenge(hash, purpose, binding, now) {
      const c = challenges.get(hash);
      if (!c || c.purpose !== purpose || c.binding !== binding || c.expiresAt <= now) return undefined;
      challenges.delete(hash);
      return c;
    },
    async sweepExpired(now) {
      let n = 0;
      for (const c of [...challenges.values()]) if (c.expiresAt <= now && challenges.delete(c.hash)) n += 1;
      return n;
    },
  };
}
