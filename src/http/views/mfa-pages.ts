import type { SecondFactorMethod } from '../../accounts/mfa/second-factors.js';
import { page, type Page, type Say } from './page.js';

/** The otpauth:// URI as an SVG made here (no script, no image from elsewhere; the CSP stays strict).
 * qrcode is loaded by the first enrolment, not at start. */
export const qrSvg = async (uri: string): Promise<string> =>
  (await import('qrcode')).default.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 200 });

/** The sign-in's second step: a code from the app or a recovery code (the methods this person has). */
export function secondFactorPage(p: { uid: string; csrf: string; ticket: string; clientName: string; methods: SecondFactorMethod[]; error?: Say }): Page {
  return page('second-factor', p);
}

/** The QR code, the key as text, and the code that confirms it (account area, or the sign-in when REQUIRE_MFA=required). */
export function totpEnrolPage(p: { csrf: string; secret: string; qrSvg: string; action: string; ticket?: string; required?: boolean; cancel?: string; error?: Say }): Page {
  return page('totp-enrol', p);
}

/** The ten recovery codes, shown once. */
export function recoveryCodesPage(p: { codes: string[]; enabled: boolean; csrf?: string; ticket?: string; continueAction?: string }): Page {
  return page('recovery-codes', p);
}

export function accountMfaPage(p: { csrf: string; email: string; totp: 'none' | 'pending' | 'enabled'; offered: boolean; recoveryCodesLeft: number; notice?: Say; error?: Say }): Page {
  return page('account-mfa', p);
}
