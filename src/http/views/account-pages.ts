import { html, layout, raw } from './html.js';
import { ACCOUNT_LINK, messagePage, type PageLink } from './message-pages.js';

/**
 * The pages behind the mailed links and "forgot your password". A link's GET only shows a page with
 * one button (mail scanners prefetch links); the button POSTs.
 */
const PASSWORD_HINT = 'At least 8 characters, at most 128. Long passphrases are welcome; very common passwords are refused.';

export function confirmEmailPage(p: { token: string; csrf: string }): string {
  return layout(
    'Confirm your email address',
    html`<h1>Confirm your email address</h1>
<p>Press the button to confirm that this email address is yours.</p>
<form method="post" action="/account/verify-email">
<input type="hidden" name="token" value="${p.token}">
<input type="hidden" name="csrf" value="${p.csrf}">
<button type="submit" autofocus>Confirm my email address</button>
</form>`,
  );
}

export function emailConfirmedPage(continueTo?: PageLink): string {
  return messagePage('Email address confirmed', continueTo ? 'Thank you. You can now sign in.' : 'Thank you. You can now go back to the application and sign in.', continueTo ?? ACCOUNT_LINK);
}

export function forgotPasswordPage(p: { email?: string; error?: string }): string {
  return layout(
    'Forgot your password?',
    html`<h1>Forgot your password?</h1>
<p id="forgot-hint">Enter the email address of your account. We will send you a link to choose a new password.</p>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : raw('')}
<form method="post" action="/account/password/forgot" novalidate>
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required autofocus value="${p.email ?? ''}" aria-describedby="forgot-hint${p.error ? ' form-error' : ''}">
<button type="submit">Send me a link</button>
</form>`,
  );
}

/** The same page for every well-formed address (no enumeration). */
export function resetSentPage(email: string): string {
  return layout(
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p role="status">If <strong>${email}</strong> belongs to an account, we sent a link to it to choose a new password. The link works for 30 minutes.</p>`,
  );
}

export function resetPasswordPage(p: { token: string; csrf: string; error?: string }): string {
  return layout(
    'Choose a new password',
    html`<h1>Choose a new password</h1>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : raw('')}
<form method="post" action="/account/password/reset" novalidate>
<input type="hidden" name="token" value="${p.token}">
<input type="hidden" name="csrf" value="${p.csrf}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" autofocus aria-describedby="password-hint${p.error ? ' form-error' : ''}">
<p class="hint" id="password-hint">${PASSWORD_HINT}</p>
<button type="submit">Change my password</button>
</form>`,
  );
}

export function passwordChangedPage(continueTo?: PageLink): string {
  return messagePage(
    'Password changed',
    `Your password has been changed and every device signed in to your account was signed out. ${continueTo ? 'You can now sign in with the new password.' : 'Go back to the application and sign in with the new password.'}`,
    continueTo ?? ACCOUNT_LINK,
  );
}

/** A mailed link that does not work (invalid, used, expired), with the way to get a new one. */
export function linkProblemPage(sentence: string, again?: PageLink): string {
  return messagePage('This link does not work', sentence, again ?? ACCOUNT_LINK);
}
