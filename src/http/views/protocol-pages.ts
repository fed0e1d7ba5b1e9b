import type { ProviderPages } from '../../oidc/pages.js';
import type { Presentation } from '../../rendering/presentation.js';

/** The OAuth errors a person can meet in a browser, each with a sentence (message key error.<code>). */
const EXPLAINED = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_redirect_uri',
  'unauthorized_client',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'login_required',
  'consent_required',
  'invalid_target',
  'temporarily_unavailable',
  'server_error',
]);

/** The message key of the sentence for an OAuth error code. */
export function errorSentence(code: string): string {
  return EXPLAINED.has(code) ? `error.${code}` : 'error.other';
}

/**
 * The engine's code form, made accessible: its input gets a label and loses its inline `onfocus`
 * handler (our CSP allows no inline script, and a page must work without one).
 */
export function labelledCodeInput(form: string, label: string): string {
  const escaped = label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return form
    .replace(/\s+onfocus="[^"]*"/, '')
    .replace(/<input(\s+(?:[^>]*\s)?name="user_code")/, `<label for="user-code">${escaped}</label>\n<input id="user-code" aria-describedby="device-message"$1`);
}

/** The pages oidc-provider renders (error, logout, device flow), in Gatehouse's look, the operator's
 * brand and the person's language. `form`s are the engine's own markup (hidden fields), passed as is. */
export function createProtocolPages(presentation: Presentation): ProviderPages {
  const render = (hints: Parameters<Presentation['chooseLocale']>[0], template: string, data: object) =>
    presentation.page(presentation.chooseLocale(hints), template, data);
  return {
    locales: presentation.locales,
    // Shown only when the engine cannot send the person back to the app (an unknown app or return
    // address): say what happened, then where to go on (the app, their account, support).
    error: (hints, out, clientName) => render(hints, 'error', { sentence: errorSentence(out.error), code: out.error, description: out.error_description, clientName }),
    logout: (hints, form, clientName) => render(hints, 'logout', { form, clientName }),
    logoutSuccess: (hints, clientName) => render(hints, 'logout-success', { clientName }),
    deviceInput(hints, form, message) {
      const locale = presentation.chooseLocale(hints);
      return presentation.page(locale, 'device-input', { form: labelledCodeInput(form, presentation.text(locale, 'device_input.label')), message });
    },
    deviceConfirm: (hints, form, clientName, userCode) => render(hints, 'device-confirm', { form, clientName, userCode }),
    deviceSuccess: (hints, clientName) => render(hints, 'device-success', { clientName }),
  };
}
