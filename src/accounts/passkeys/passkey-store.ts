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

/** The passkey port: credentials and their challenges. */
export interface PasskeyStore {
  /** False when the credential ID is already registered (the primary key decides). */
  insert(passkey: Passkey): Promise<boolean>;
  find(id: string): Promise<Passkey | undefined>;
  listByUser(userId: string): Promise<Passkey[]>;
  /** Records a successful use; `counter` is the new signature counter. */
  used(id: string, counter: number, backedUp: boolean, at: Date): Promise<void>;
  rename(userId: string, id: string, name: string): Promise<boolean>;
  remove(userId: string, id: string): Promise<boolean>;
  removeAll(userId: string): Promise<number>;

  saveChallenge(challenge: PendingChallenge): Promise<void>;
  /**
   * Takes a challenge for good, if it is still there, unexpired, and was issued for this purpose and
   * binding: one conditional delete whose row count decides, so of two racing answers exactly one wins.
   */
  consumeChallenge(hash: string, purpose: ChallengePurpose, binding: string, now: Date): Promise<PendingChallenge | undefined>;
  sweepExpired(now: Date): Promise<number>;
}
