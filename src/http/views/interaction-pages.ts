import type { InteractionView } from '../../oidc/interactions.js';
import { html, layout, raw } from './html.js';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (your account ID)',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it (keep access until you sign out)',
};

export function loginPage(p: { uid: string; csrf: string; clientName: string; email?: string; error?: string }): string {
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p>to continue to <strong>${p.clientName}</strong></p>
${p.error ? html`<p class="error" role="alert">${p.error}</p>` : raw('')}
<form method="post" action="/interaction/${p.uid}/login" novalidate>
<input type="hidden" name="csrf" value="${p.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${p.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${p.uid}/abort">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

export function consentPage(p: { view: InteractionView; csrf: string }): string {
  const { view } = p;
  const items = [
    ...view.scopes.map((s) => SCOPE_WORDS[s] ?? s),
    ...Object.entries(view.apiScopes).flatMap(([api, scopes]) => scopes.map((s) => `${s} on ${api}`)),
  ];
  return layout(
    'Allow access',
    html`<h1>Allow ${view.clientName}?</h1>
<p><strong>${view.clientName}</strong> would like to:</p>
<ul class="scopes">${items.map((i) => html`<li>${i}</li>`)}</ul>
<form method="post" action="/interaction/${view.uid}/confirm">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${view.uid}/abort">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" class="secondary">Deny</button>
</form>`,
  );
}

export function messagePage(title: string, sentence: string): string {
  return layout(title, html`<h1>${title}</h1><p>${sentence}</p>`);
}
