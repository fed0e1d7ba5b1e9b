import type { Words } from '../../i18n/messages.js';
import type { InteractionView } from '../../oidc/interactions.js';
import { page, type Page, type Say } from './page.js';

/** The OIDC scopes we describe ourselves (message keys scope.<name>). */
const DESCRIBED_SCOPES = new Set(['openid', 'email', 'offline_access']);

export function loginPage(p: { uid: string; csrf: string; clientName: string; email?: string; error?: Say; notice?: Say }): Page {
  return page('login', p);
}

export function signupPage(p: { uid: string; csrf: string; clientName: string; email?: string; error?: Say }): Page {
  return page('signup', p);
}

/** After a signup: the same page whether the address was new or taken (no enumeration). */
export function checkInboxPage(p: { uid: string; email: string }): Page {
  return page('check-inbox', p);
}

/** The right password, but the address is not confirmed yet (REQUIRE_EMAIL_VERIFICATION). */
export function unverifiedPage(p: { uid: string; csrf: string; ticket: string; email: string }): Page {
  return page('unverified', p);
}

export function resentPage(p: { uid: string }): Page {
  return page('resent', p);
}

/** An API in words, as its operator described it (`resources create --description --scope-description`). */
export interface ApiWords {
  description: string | null;
  scopeDescriptions: Record<string, string>;
}

/**
 * What approved (or requested) scopes let an app do, in words (consent page, account page): OIDC
 * scopes in our words (the message files); API scopes in the operator's, exactly as written, named
 * after the API's description, falling back to the scope and the API's audience where the operator
 * wrote none.
 */
export function permissionWords(scopes: readonly string[], apiScopes: Record<string, readonly string[]>, apis: Record<string, ApiWords | undefined> = {}): Words[] {
  return [
    ...scopes.map((s): Words => (DESCRIBED_SCOPES.has(s) ? { key: `scope.${s}` } : { key: 'scope.other', vars: { scope: s } })),
    ...Object.entries(apiScopes).flatMap(([api, list]) =>
      list.map((s): Words => {
        const words = apis[api];
        const what = words?.scopeDescriptions[s];
        const where = words?.description ?? api;
        return what ? { key: 'scope.api_described', vars: { what, where } } : { key: 'scope.api', vars: { scope: s, where } };
      }),
    ),
  ];
}

/**
 * "Remember this choice" (checked by default): when checked, the approval is kept as a grant and this
 * app does not ask again for the same permissions; when unchecked, the approval covers this sign-in
 * only (see Interactions.finishConsent) and the app asks again next time.
 */
export function consentPage(p: { view: InteractionView; csrf: string; email?: string; apis?: Record<string, ApiWords | undefined> }): Page {
  const { view } = p;
  return page('consent', { uid: view.uid, clientName: view.clientName, csrf: p.csrf, email: p.email, permissions: permissionWords(view.scopes, view.apiScopes, p.apis) });
}
