import { Secret, TOTP } from 'otpauth';

/**
 * Authenticator-app codes (RFC 6238): SHA-1, 6 digits, 30-second steps — what every app understands.
 * A code is accepted in the current step or one step either side (clock drift); which step matched is
 * returned so the caller can refuse it, and every earlier step, from then on (no replay).
 */
const PERIOD = 30;
const DIGITS = 6;
/** ±1 step: a code typed just as it changed, or a phone a few seconds off. */
const WINDOW = 1;

export const TOTP_CODE_PATTERN = /^\d{6}$/;

/** 160 random bits (RFC 4226 §4 recommends the HMAC's output length), as base32 for the app. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

const totpOf = (secret: string, label = 'account', issuer = 'Gatehouse') =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD, secret: Secret.fromBase32(secret) });

/** The `otpauth://` URI the QR code carries. */
export const totpUri = (secret: string, account: string, issuer: string): string => totpOf(secret, account, issuer).toString();

/** The time step `at` falls in. */
export const totpStep = (at: Date): number => Math.floor(at.getTime() / 1000 / PERIOD);

/** The step whose code this is (within the window around `at`), or undefined. */
export function matchTotp(secret: string, code: string, at: Date): number | undefined {
  if (!TOTP_CODE_PATTERN.test(code)) return undefined;
  const delta = totpOf(secret).validate({ token: code, timestamp: at.getTime(), window: WINDOW });
  return delta === null ? undefined : totpStep(at) + delta;
}
