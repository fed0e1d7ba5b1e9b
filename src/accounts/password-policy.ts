import { dictionary } from '@zxcvbn-ts/language-common';
import { normalizePassword } from './normalize.js';

/**
 * NIST SP 800-63B / ASVS 6.2: 8–128 characters (Unicode code points, after NFKC), no composition
 * rules, whole password used, and not one of the most common passwords (zxcvbn-ts's list, ~49,000).
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

let common: Set<string> | undefined;
const commonPasswords = () => (common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase())));

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common' | 'not_text';

export const PASSWORD_PROBLEMS: Record<PasswordProblem, string> = {
  too_short: `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`,
  too_long: `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`,
  too_common: 'This password is one of the most common passwords and would be guessed quickly; choose another.',
  not_text: 'The password must be text.',
};

export function checkPassword(raw: unknown): PasswordProblem | undefined {
  if (typeof raw !== 'string') return 'not_text';
  const password = normalizePassword(raw);
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'too_long';
  if (commonPasswords().has(password.toLowerCase())) return 'too_common';
  return undefined;
}
