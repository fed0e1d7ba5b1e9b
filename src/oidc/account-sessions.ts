import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ConnectedApp, CurrentSession, SessionDirectory, SessionInfo } from '../accounts/account-sessions.js';
import { unavailable } from '../errors.js';
import { isEngineUnavailable } from './engine-errors.js';
import type { OidcStore } from './oidc-store.js';
import type { ProviderHost } from './provider-host.js';

/**
 * Gatehouse's own first-party client: the account page sends a person without a session through an
 * ordinary authorization request of this client, only to run them through the sign-in pages; its
 * callback returns to /account, which then reads the engine's session (docs/architecture.md).
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

export function accountClientMetadata(issuer: string) {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'your account',
    token_endpoint_auth_method: 'none',
    redirect_uris: [`${issuer}${ACCOUNT_CALLBACK_PATH}`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  } as const;
}

/** The signed-in account of this browser, read from the engine's session cookie (never created). */
export async function readCurrentSession(host: ProviderHost, req: IncomingMessage, res: ServerResponse): Promise<CurrentSession | undefined> {
  try {
    const provider = host.current();
    const ctx = provider.createContext(req, res) as unknown as KoaContextWithOIDC;
    const session = await provider.Session.get(ctx);
    if (!session.accountId || typeof session.exp !== 'number') return undefined;
    return { id: session.jti, uid: session.uid, accountId: session.accountId };
  } catch (err) {
    throw isEngineUnavailable(err) ? unavailable('The service is temporarily unavailable; retry shortly.', err) : err;
  }
}

type SessionPayload = { jti?: string; uid?: string; loginTs?: number; authorizations?: Record<string, { grantId?: string }> };
type GrantPayload = { clientId?: string; openid?: { scope?: string }; resources?: Record<string, string> };

const words = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);

/** The account's sessions and grants in the engine's store (sessions keep their id in the payload). */
export function createSessionDirectory(store: OidcStore): SessionDirectory {
  const sessionsOf = async (accountId: string) =>
    (await store.listByAccountId(accountId, ['Session'])).map((row) => ({ row, payload: row.payload as SessionPayload }));
  const grantsOf = async (accountId: string) =>
    (await store.listByAccountId(accountId, ['Grant'])).map((row) => ({ grantId: row.grantId, payload: row.payload as GrantPayload }));

  return {
    async list(accountId) {
      const sessions: SessionInfo[] = (await sessionsOf(accountId))
        .filter(({ payload }) => typeof payload.uid === 'string')
        .map(({ row, payload }) => ({
          uid: payload.uid!,
          signedInAt: typeof payload.loginTs === 'number' ? new Date(payload.loginTs * 1000) : null,
          expiresAt: row.expiresAt ?? null,
          clientIds: Object.keys(payload.authorizations ?? {}).filter((id) => id !== ACCOUNT_CLIENT_ID),
        }))
        .sort((a, b) => (b.signedInAt?.getTime() ?? 0) - (a.signedInAt?.getTime() ?? 0));
      const apps = new Map<string, ConnectedApp>();
      for (const { payload } of await grantsOf(accountId)) {
        const clientId = payload.clientId;
        if (!clientId || clientId === ACCOUNT_CLIENT_ID) continue;
        const app = apps.get(clientId) ?? { clientId, scopes: [], apis: {} };
        for (const s of words(payload.openid?.scope)) if (!app.scopes.includes(s)) app.scopes.push(s);
        for (const [api, scope] of Object.entries(payload.resources ?? {})) {
          const list = (app.apis[api] ??= []);
          for (const s of words(scope)) if (!list.includes(s)) list.push(s);
        }
        apps.set(clientId, app);
      }
      return { sessions, apps: [...apps.values()].sort((a, b) => a.clientId.localeCompare(b.clientId)) };
    },

    async endSession(accountId, uid) {
      const found = (await sessionsOf(accountId)).find(({ payload }) => payload.uid === uid && typeof payload.jti === 'string');
      if (!found) return false;
      await store.destroy('Session', found.payload.jti!);
      return true;
    },

    async disconnect(accountId, clientId) {
      const grants = (await grantsOf(accountId)).filter(({ grantId, payload }) => grantId && payload.clientId === clientId);
      for (const { grantId } of grants) await store.revokeByGrantId(grantId!);
      return grants.length > 0;
    },

    revokeAll(accountId, keepSessionId) {
      return store.revokeByAccountId(accountId, keepSessionId === undefined ? {} : { keepSession: keepSessionId });
    },
  };
}
