import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LocaleHints } from '../i18n/choose-locale.js';

/**
 * The HTML pages oidc-provider renders itself (error, logout, device flow). The templates live with
 * the other pages (src/templates/pages); the composition root passes them in. Each page is told what
 * the request says about the person's language.
 */
export interface ProviderPages {
  /** The languages the pages speak (discovery's ui_locales_supported). */
  readonly locales: readonly string[];
  /** `clientName`: the app the request came from, when the engine knows it. */
  error(hints: LocaleHints, out: { error: string; error_description?: string }, clientName?: string): string;
  logout(hints: LocaleHints, form: string, clientName: string | undefined): string;
  logoutSuccess(hints: LocaleHints, clientName: string | undefined): string;
  /** `message.text`: a message key (device_input.*). */
  deviceInput(hints: LocaleHints, form: string, message: { text: string; error: boolean }): string;
  deviceConfirm(hints: LocaleHints, form: string, clientName: string, userCode: string): string;
  deviceSuccess(hints: LocaleHints, clientName: string | undefined): string;
}

/** The request's `ui_locales` (authorization, logout and device requests may carry it) and Accept-Language. */
export function localeHints(ctx: KoaContextWithOIDC): LocaleHints {
  const uiLocales = (ctx.oidc?.params as { ui_locales?: unknown } | undefined)?.ui_locales;
  return { uiLocales: typeof uiLocales === 'string' ? uiLocales : null, acceptLanguage: ctx.get('accept-language') || null };
}
