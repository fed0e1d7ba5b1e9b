/**
 * What the account page knows about where a person is signed in, without engine types. The engine's
 * browser session is the credential of the account page (docs/architecture.md, The account page);
 * oidc/account-sessions.ts implements this over the engine's store.
 */
export interface CurrentSession {
  /** The engine's session id: the cookie's value, a secret; never shown or sent anywhere. */
  id: string;
  /** The session's public handle (what the page lists and what "sign out" names). */
  uid: string;
  accountId: string;
}

export interface SessionInfo {
  uid: string;
  signedInAt: Date | null;
  expiresAt: Date | null;
  /** The apps this browser session signed in to. */
  clientIds: string[];
}

export interface ConnectedApp {
  clientId: string;
  /** OIDC scopes approved (openid, email, offline_access). */
  scopes: string[];
  /** API scopes approved, by API audience. */
  apis: Record<string, string[]>;
}

export interface SessionDirectory {
  list(accountId: string): Promise<{ sessions: SessionInfo[]; apps: ConnectedApp[] }>;
  /** Ends one browser session of the account; false when it is not (or no longer) one of its own. */
  endSession(accountId: string, uid: string): Promise<boolean>;
  /** Revokes every grant (and so every token) the account gave this app; false when there was none. */
  disconnect(accountId: string, clientId: string): Promise<boolean>;
  /** Every session, grant and token of the account, except the session `keepSessionId` when given. */
  revokeAll(accountId: string, keepSessionId?: string): Promise<number>;
}
