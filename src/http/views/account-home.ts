import type { Words } from '../../i18n/messages.js';
import { page, type Page, type Say } from './page.js';

/** The account page (/account): one section per thing a person can do with their account. */
export interface AccountHomeView {
  csrf: string;
  email: string;
  emailVerified: boolean;
  /** Times are shown in UTC ("2026-11-30 01:23 UTC"): the same for every reader, whatever their time zone. */
  sessions: { uid: string; signedInAt: Date | null; current: boolean; apps: string[] }[];
  apps: { clientId: string; name: string; permissions: Words[] }[];
  /** The account's passkeys (templates/pages/account-passkeys.eta); `synced`: backup-eligible. */
  passkeys?: { id: string; name: string; synced: boolean; createdAt: Date; lastUsedAt: Date | null }[];
  /** A sentence after an action that worked (role=status). */
  notice?: Say;
  /** A refused action: which section, and why. */
  error?: { section: AccountSection; sentence: Say };
  /** What the person typed into the email form (kept when it is refused). */
  typedEmail?: string;
}

export type AccountSection = 'password' | 'email' | 'sessions' | 'apps' | 'delete';

export function accountHomePage(v: AccountHomeView): Page {
  return page('account', v);
}
