import { html, layout, raw, type Raw } from './html.js';

/** The account page (/account): one section per thing a person can do with their account. */
export interface AccountHomeView {
  csrf: string;
  email: string;
  emailVerified: boolean;
  sessions: { uid: string; signedInAt: Date | null; current: boolean; apps: string[] }[];
  apps: { clientId: string; name: string; permissions: string[] }[];
  /** A sentence after an action that worked (role=status). */
  notice?: string;
  /** A refused action: which section, and why. */
  error?: { section: AccountSection; sentence: string };
  /** What the person typed into the email form (kept when it is refused). */
  typedEmail?: string;
}

export type AccountSection = 'password' | 'email' | 'sessions' | 'apps' | 'delete';

const PASSWORD_HINT = 'At least 8 characters, at most 128. Long passphrases are welcome; very common passwords are refused.';

/** "2026-11-30 01:23 UTC": the same for every reader, whatever their time zone. */
const when = (at: Date | null) => (at ? `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'at an unknown time');

export function accountHomePage(v: AccountHomeView): string {
  const errorIn = (section: AccountSection): Raw =>
    v.error?.section === section ? html`<p class="error" role="alert" id="${section}-error">${v.error.sentence}</p>` : raw('');
  const describedBy = (section: AccountSection, ...ids: string[]) => [...ids, ...(v.error?.section === section ? [`${section}-error`] : [])].join(' ');
  const csrf = html`<input type="hidden" name="csrf" value="${v.csrf}">`;
  return layout(
    'Your account',
    html`<h1>Your account</h1>
<p>Signed in as <strong class="address">${v.email}</strong>${v.emailVerified ? '' : ' (not confirmed yet)'}</p>
${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : raw('')}
<section aria-labelledby="password-heading">
<h2 id="password-heading">Password</h2>
${errorIn('password')}
<form method="post" action="/account/password" novalidate>
${csrf}
<input type="text" autocomplete="username" value="${v.email}" hidden>
<label for="current-password">Current password</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required aria-describedby="${describedBy('password')}">
<label for="new-password">New password</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="8" aria-describedby="${describedBy('password', 'new-password-hint')}">
<p class="hint" id="new-password-hint">${PASSWORD_HINT} Every other device will be signed out.</p>
<button type="submit">Change password</button>
</form>
</section>
<section aria-labelledby="email-heading">
<h2 id="email-heading">Email address</h2>
${errorIn('email')}
<form method="post" action="/account/email" novalidate>
${csrf}
<label for="new-email">New email address</label>
<input id="new-email" name="email" type="email" autocomplete="email" required value="${v.typedEmail ?? ''}" aria-describedby="${describedBy('email', 'email-hint')}">
<p class="hint" id="email-hint">We send a link to the new address; the change happens when you open it.</p>
<label for="email-password">Current password</label>
<input id="email-password" name="password" type="password" autocomplete="current-password" required aria-describedby="${describedBy('email')}">
<button type="submit">Change email address</button>
</form>
</section>
<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading">Where you are signed in</h2>
${errorIn('sessions')}
<ul class="items">${v.sessions.map(
      (s) => html`<li>
<span>Signed in ${when(s.signedInAt)}${s.current ? html` <strong>(this browser)</strong>` : raw('')}${s.apps.length ? html`<br><small>Apps: ${s.apps.join(', ')}</small>` : raw('')}</span>
<form method="post" action="/account/sessions/${s.uid}/end">${csrf}<button type="submit" class="secondary inline" aria-label="Sign out the session signed in ${when(s.signedInAt)}${s.current ? ' (this browser)' : ''}">Sign out</button></form>
</li>`,
    )}</ul>
<form method="post" action="/account/sign-out-everywhere">
${csrf}
<button type="submit" class="secondary">Sign out everywhere</button>
</form>
</section>
<section aria-labelledby="apps-heading">
<h2 id="apps-heading">Connected apps</h2>
${errorIn('apps')}
${
  v.apps.length === 0
    ? html`<p class="muted">No app has access to your account.</p>`
    : html`<ul class="items">${v.apps.map(
        (a) => html`<li>
<span><strong>${a.name}</strong>${a.permissions.length ? html`<br><small>${a.permissions.join('; ')}</small>` : raw('')}</span>
<form method="post" action="/account/apps/${encodeURIComponent(a.clientId)}/disconnect">${csrf}<button type="submit" class="secondary inline" aria-label="Disconnect ${a.name}">Disconnect</button></form>
</li>`,
      )}</ul>`
}
</section>
<section aria-labelledby="delete-heading">
<h2 id="delete-heading">Delete your account</h2>
${errorIn('delete')}
<p id="delete-hint">This deletes your account at once and signs you out of every app. It cannot be undone.</p>
<form method="post" action="/account/delete" novalidate>
${csrf}
<label for="delete-password">Current password</label>
<input id="delete-password" name="password" type="password" autocomplete="current-password" required aria-describedby="${describedBy('delete', 'delete-hint')}">
<button type="submit" class="danger">Delete my account</button>
</form>
</section>`,
  );
}
