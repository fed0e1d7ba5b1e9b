import type { ProviderPages } from '../../oidc/pages.js';
import { applyBrand, html, layout, productName, raw, type Brand } from './html.js';
import { ACCOUNT_LINK } from './message-pages.js';

/** Human sentences for the OAuth errors a person can meet in a browser. */
const SENTENCES: Record<string, string> = {
  invalid_request: 'The application sent an invalid sign-in request.',
  invalid_client: 'The application asking you to sign in is not registered here.',
  invalid_redirect_uri: 'The application asked to send you back to an address it has not registered.',
  unauthorized_client: 'This application is not allowed to ask for that.',
  unsupported_response_type: 'The application asked for a kind of sign-in this server does not offer.',
  invalid_scope: 'The application asked for permissions it may not have.',
  access_denied: 'The sign-in was cancelled.',
  login_required: 'You need to sign in again.',
  consent_required: 'Your permission is needed to continue.',
  invalid_target: 'The application asked for access to an API it may not use.',
  temporarily_unavailable: 'The service is briefly unavailable. Please try again in a moment.',
  server_error: 'Something went wrong on our side. Please try again.',
};

export function errorSentence(code: string): string {
  return SENTENCES[code] ?? 'The request could not be completed.';
}

/**
 * The engine's code form, made accessible: its input gets a label and loses its inline `onfocus`
 * handler (our CSP allows no inline script, and a page must work without one).
 */
export function labelledCodeInput(form: string): string {
  return form
    .replace(/\s+onfocus="[^"]*"/, '')
    .replace(/<input(\s+(?:[^>]*\s)?name="user_code")/, '<label for="user-code">Code shown on your device</label>\n<input id="user-code" aria-describedby="device-message"$1');
}

/** The pages oidc-provider renders (error, logout, device flow), in Gatehouse's look and the operator's brand. */
export function createProtocolPages(brand: Brand): ProviderPages {
  const branded = Object.fromEntries(
    Object.entries(protocolPages).map(([name, render]) => [name, (...args: unknown[]) => applyBrand((render as (...a: unknown[]) => string)(...args), brand)]),
  );
  return branded as unknown as ProviderPages;
}

/** The pages with the brand still to be filled in (createProtocolPages). */
const protocolPages: ProviderPages = {
  // Shown only when the engine cannot send the person back to the app (an unknown app or return
  // address): say what happened, then where to go on (the app, their account, support).
  error(out, clientName) {
    return layout(
      'Something went wrong',
      html`<h1>Something went wrong</h1>
<p>${errorSentence(out.error)}</p>
<p>${clientName ? `Go back to ${clientName} and try again, or go to your account.` : 'Go back to the application you came from and try again, or go to your account.'}</p>
<p><a class="button" href="${ACCOUNT_LINK.href}">${ACCOUNT_LINK.text}</a></p>
<p class="muted"><small>Error code: ${out.error}${out.error_description ? ` — ${out.error_description}` : ''}</small></p>`,
    );
  },
  logout(form, clientName) {
    return layout(
      'Sign out',
      html`<h1>Sign out of ${clientName ? html`${clientName} and ` : raw('')}${productName()}?</h1>
<p>${clientName ? html`You will be signed out of ${clientName} and of your ${productName()} account in this browser.` : html`You will be signed out of your ${productName()} account in this browser.`}</p>
${raw(form)}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
    );
  },
  logoutSuccess(clientName) {
    return layout(
      'Signed out',
      html`<h1>You are signed out</h1>
<p>${clientName ? html`You have signed out of ${clientName} and ${productName()}.` : html`You have signed out of ${productName()}.`}</p>
<p><a class="button" href="${ACCOUNT_LINK.href}">Sign in again</a></p>`,
    );
  },
  deviceInput(form, message) {
    return layout(
      'Connect a device',
      html`<h1>Connect a device</h1>
<p class="${message.error ? 'error' : ''}" role="${message.error ? 'alert' : 'status'}" id="device-message">${message.text}</p>
${raw(labelledCodeInput(form))}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
    );
  },
  deviceConfirm(form, clientName, userCode) {
    return layout(
      'Confirm the device',
      html`<h1>Confirm the device</h1>
<p><strong>${clientName}</strong> wants to sign in. Check that your device shows this code:</p>
<p><code class="user-code">${userCode}</code></p>
${raw(form)}
<button type="submit" form="op.deviceConfirmForm" autofocus>Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="secondary">Cancel</button>`,
    );
  },
  deviceSuccess(clientName) {
    return layout('Device connected', html`<h1>Device connected</h1><p>${clientName ? `${clientName} is signed in.` : 'The device is signed in.'} You can close this page.</p>`);
  },
};
