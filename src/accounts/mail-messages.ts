import type { MailMessage } from './mailer.js';

/**
 * The messages Gatehouse sends, as plain text. Links follow README's account section: `$ISSUER/account/verify-email?token=…`
 * and `$ISSUER/account/password/reset?token=…`; opening one shows a page with one button, so a mail
 * scanner that prefetches the link uses nothing up.
 */
export const verifyEmailLink = (issuer: string, token: string) => `${issuer}/account/verify-email?token=${token}`;
export const resetPasswordLink = (issuer: string, token: string) => `${issuer}/account/password/reset?token=${token}`;
export const forgotPasswordLink = (issuer: string) => `${issuer}/account/password/forgot`;

const FOOTER = '\n\n-- \nThis message was sent automatically by the sign-in service at ';

export function verificationMail(issuer: string, to: string, token: string): MailMessage {
  const link = verifyEmailLink(issuer, token);
  return {
    to,
    subject: 'Confirm your email address',
    link,
    text: `Hello,

please confirm that this is your email address by opening the link below and pressing the button:

${link}

The link works once and expires in 24 hours. If you did not create an account, ignore this message.${FOOTER}${issuer}`,
  };
}

/** For a signup with an address that already has a verified account (no enumeration: the form said the same). */
export function accountExistsMail(issuer: string, to: string): MailMessage {
  const link = forgotPasswordLink(issuer);
  return {
    to,
    subject: 'You already have an account',
    link,
    text: `Hello,

someone, hopefully you, tried to create an account with this email address, but you already have one.
Nothing was changed. If you have forgotten your password, you can choose a new one here:

${link}

If it was not you, you can ignore this message.${FOOTER}${issuer}`,
  };
}

/**
 * For a signup with an address whose account was never confirmed. The link sets a new password (and
 * confirms the address), so whoever started the first signup cannot keep an account in this
 * address's name with a password the owner does not know.
 */
export function finishSignupMail(issuer: string, to: string, token: string): MailMessage {
  const link = resetPasswordLink(issuer, token);
  return {
    to,
    subject: 'Finish creating your account',
    link,
    text: `Hello,

an account for this email address was started earlier but never confirmed. To finish, choose your
password here (this also confirms your address):

${link}

The link works once and expires in 30 minutes. If you did not ask for this, ignore this message.${FOOTER}${issuer}`,
  };
}

export function passwordResetMail(issuer: string, to: string, token: string): MailMessage {
  const link = resetPasswordLink(issuer, token);
  return {
    to,
    subject: 'Reset your password',
    link,
    text: `Hello,

someone, hopefully you, asked to reset the password of the account with this email address.
Choose a new password here:

${link}

The link works once and expires in 30 minutes. If you did not ask for this, ignore this message:
your password stays as it is.${FOOTER}${issuer}`,
  };
}

export function passwordChangedMail(issuer: string, to: string): MailMessage {
  const link = forgotPasswordLink(issuer);
  return {
    to,
    subject: 'Your password was changed',
    text: `Hello,

the password of your account was just changed, and every device signed in to it was signed out.

If this was not you, choose a new password right away: ${link}${FOOTER}${issuer}`,
  };
}

/** NIST SP 800-63B: after too many consecutive failed logins the password stops working until the
 * owner chooses a new one. */
export function passwordDisabledMail(issuer: string, to: string): MailMessage {
  const link = forgotPasswordLink(issuer);
  return {
    to,
    subject: 'Your password was disabled after too many failed sign-ins',
    link,
    text: `Hello,

there were too many failed attempts to sign in to your account, so your password no longer works.
Nobody signed in with it. To use your account again, choose a new password here:

${link}

If these attempts were not yours, someone may be guessing your password: choose one you use nowhere else.${FOOTER}${issuer}`,
  };
}

export const confirmEmailChangeLink = (issuer: string, token: string) => `${issuer}/account/email/confirm?token=${token}`;

/** To the new address of an email change: the link that makes it the account's address. */
export function emailChangeMail(issuer: string, to: string, token: string): MailMessage {
  const link = confirmEmailChangeLink(issuer, token);
  return {
    to,
    subject: 'Confirm your new email address',
    link,
    text: `Hello,

you asked to use this address for your account. To confirm it, open the link below and press the button:

${link}

The link works once and expires in 24 hours. Until then your account keeps its current address.
If you did not ask for this, ignore this message.${FOOTER}${issuer}`,
  };
}

/** To the current address of an email change: so that its owner learns about it before it happens. */
export function emailChangeNoticeMail(issuer: string, to: string, newEmail: string): MailMessage {
  const link = forgotPasswordLink(issuer);
  return {
    to,
    subject: 'A change of your email address was requested',
    text: `Hello,

someone signed in to your account asked to change its email address to ${newEmail}.
The change happens only when the link sent to that address is opened.

If this was not you, choose a new password right away: ${link}
(a new password signs everyone out of your account).${FOOTER}${issuer}`,
  };
}

/** To the new address of an email change when that address already has an account (nothing changes). */
export function emailChangeTakenMail(issuer: string, to: string): MailMessage {
  return {
    to,
    subject: 'This address already has an account',
    text: `Hello,

someone asked to move another account to this address, but this address already has an account.
Nothing was changed. If this was you, sign in with this address instead.${FOOTER}${issuer}`,
  };
}

/** After the owner deleted the account. */
export function accountDeletedMail(issuer: string, to: string): MailMessage {
  return {
    to,
    subject: 'Your account was deleted',
    text: `Hello,

your account and everything connected to it were deleted, and every app was signed out.
If this was not you, contact the operator of this service.${FOOTER}${issuer}`,
  };
}
