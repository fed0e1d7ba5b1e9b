import type { RequestContext } from '../account-deps.js';
import type { User } from '../users.js';
import { passkeyName } from './register-passkey.js';
import type { PasskeyDeps } from './passkey-deps.js';

/** Renames one of the account's passkeys; false when it has no passkey with that id. */
export async function renamePasskey(deps: PasskeyDeps, user: User, id: string, name: string, who: RequestContext): Promise<boolean> {
  const existing = await deps.store.listByUser(user.id);
  const index = existing.findIndex((p) => p.id === id);
  if (index < 0) return false;
  const renamed = await deps.store.rename(user.id, id, passkeyName(name, index + 1));
  if (renamed) await deps.audit.record({ type: 'passkey.renamed', ...who, userId: user.id, email: user.email, detail: { passkey: id.slice(0, 16) } });
  return renamed;
}

/** Removes one of the account's passkeys (the caller has checked the session and its CSRF token). */
export async function removePasskey(deps: PasskeyDeps, user: User, id: string, who: RequestContext): Promise<boolean> {
  const removed = await deps.store.remove(user.id, id);
  if (removed) await deps.audit.record({ type: 'passkey.removed', ...who, userId: user.id, email: user.email, detail: { passkey: id.slice(0, 16) } });
  return removed;
}

/**
 * The operator's reset (`users mfa reset`, account deletion): every passkey of the account is gone.
 * Returns how many there were; the caller audits the reset as a whole.
 */
export async function resetPasskeys(deps: Pick<PasskeyDeps, 'store'>, userId: string): Promise<number> {
  return deps.store.removeAll(userId);
}
