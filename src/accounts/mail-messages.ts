import { builtInMailWriter } from '../rendering/presentation.js';
import type { MailMessage } from './mailer.js';

/**
 * The messages Gatehouse sends. Their words and look come from the templates
 * (`src/templates/mail/<name>.text.eta` and `.html.eta`, subject `mail.<name>.subject` in the message
 * files), in the language of the request that caused them. Links follow README's account section:
 * `$ISSUER/account/verify-email?token=…` and `$ISSUER/account/password/reset?token=…`; opening one
 * shows a page with one button, so a mail scanner that prefetches the link uses nothing up.
 */
export const verifyEmailLink = (issuer: string, token: string) => `${issuer}/account/verify-email?token=${token}`;
export const resetPasswordLink = (issuer: string, token: string) => `${issuer}/account/password/reset?token=${token}`;
export const forgotPasswordLink = (issuer: string) => `${issuer}/account/password/forgot`;
export const confirmEmailChangeLink = (issuer: string, token: string) => `${issuer}/account/email/confirm?token=${token}`;

export type MailName =
  | 'verify-email'
  | 'account-exists'
  | 'finish-signup'
  | 'password-reset'
  | 'password-changed'
  | 'password-disabled'
  | 'email-change'
  | 'email-change-notice'
  | 'email-change-taken'
  | 'account-deleted'
  | 'recovery-code-used'
  | 'mfa-reset';

/** The port to the templates: a mail's subject, text and HTML in one language (undefined: DEFAULT_LOCALE). */
export interface MailWriter {
  write(locale: string | undefined, name: MailName, vars: Record<string, string>): { subject: string; text: string; html: string };
}

/** Where a mail is written: the templates, the public base URL its links start with, the language. */
export interface MailContext {
  mails: MailWriter;
  issuer: string;
  locale?: string;
}

function compose(c: MailContext, name: MailName, to: string, vars: Record<string, string>, link?: string): MailMessage {
  const { subject, text, html } = c.mails.write(c.locale, name, { ...vars, issuer: c.issuer, ...(link ? { link } : {}) });
  return { to, subject, text, html, ...(link ? { link } : {}) };
}

export const verificationMail = (c: MailContext, to: string, token: string) => compose(c, 'verify-email', to, {}, verifyEmailLink(c.issuer, token));

/** For a signup with an address that already has a verified account (no enumeration: the form said the same). */
export const accountExistsMail = (c: MailContext, to: string) => compose(c, 'account-exists', to, {}, forgotPasswordLink(c.issuer));

/**
 * For a signup with an address whose account was never confirmed. The link sets a new password (and
 * confirms the address), so whoever started the first signup cannot keep an account in this
 * address's name with a password the owner does not know.
 */
export const finishSignupMail = (c: MailContext, to: string, token: string) => compose(c, 'finish-signup', to, {}, resetPasswordLink(c.issuer, token));

export const passwordResetMail = (c: MailContext, to: string, token: string) => compose(c, 'password-reset', to, {}, resetPasswordLink(c.issuer, token));

/** No `link` field: the message names a link, but asks nobody to open it. */
export const passwordChangedMail = (c: MailContext, to: string) => compose(c, 'password-changed', to, { forgot: forgotPasswordLink(c.issuer) });

/** NIST SP 800-63B: after too many consecutive failed logins the password stops working until the
 * owner chooses a new one. */
export const passwordDisabledMail = (c: MailContext, to: string) => compose(c, 'password-disabled', to, {}, forgotPasswordLink(c.issuer));

/** To the new address of an email change: the link that makes it the account's address. */
export const emailChangeMail = (c: MailContext, to: string, token: string) => compose(c, 'email-change', to, {}, confirmEmailChangeLink(c.issuer, token));

/** To the current address of an email change: so that its owner learns about it before it happens. */
export const emailChangeNoticeMail = (c: MailContext, to: string, newEmail: string) =>
  compose(c, 'email-change-notice', to, { newEmail, forgot: forgotPasswordLink(c.issuer) });

/** To the new address of an email change when that address already has an account (nothing changes). */
export const emailChangeTakenMail = (c: MailContext, to: string) => compose(c, 'email-change-taken', to, {});

/** After the owner deleted the account. */
export const accountDeletedMail = (c: MailContext, to: string) => compose(c, 'account-deleted', to, {});

/** A recovery code was used to sign in: if it was not the owner, they learn it now. */
export const recoveryCodeUsedMail = (c: MailContext, to: string, left: number) =>
  compose(c, 'recovery-code-used', to, { left: String(left), forgot: forgotPasswordLink(c.issuer) });

/** An operator removed every second factor of the account. */
export const mfaResetMail = (c: MailContext, to: string) => compose(c, 'mfa-reset', to, { forgot: forgotPasswordLink(c.issuer) });

/** The mail context of a use case: its templates (the built-in ones when none were given), the request's language. */
export const mailContext = (deps: { mails?: MailWriter; issuer: string }, who?: { locale?: string }): MailContext => ({
  mails: deps.mails ?? builtInMailWriter(),
  issuer: deps.issuer,
  ...(who?.locale ? { locale: who.locale } : {}),
});
