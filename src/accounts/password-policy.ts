import { createRequire } from 'node:module';
import { FieldError } from '../errors.js';
import { normalizePassword } from './normalize.js';

/**
 * NIST SP 800-63B / ASVS 6.2: 8–128 characters (Unicode code points, after NFKC), no composition
 * rules, whole password used, and not one of the most common passwords (zxcvbn-ts's list, ~49,000).
 * NIST also asks to refuse context-specific words (the service's name, the username) and repetitive
 * characters: a password that contains the account's email or its name part, or that is one short
 * group of characters repeated ("aaaaaaaa", "abcabcabc"), is refused too.
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

/**
 * The list is decompressed into a Set of ~49,000 strings: about 80 ms of CPU and about 10 MB, which a
 * server that only issues tokens never needs. So it is loaded at the first check (that check pays the
 * 80 ms once). `require` keeps `checkPassword` synchronous (the package ships a CommonJS build).
 */
let common: Set<string> | undefined;
const commonPasswords = () => {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    common = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  }
  return common;
};

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common' | 'repetitive' | 'contains_email' | 'not_text';

export const PASSWORD_PROBLEMS: Record<PasswordProblem, string> = {
  too_short: `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`,
  too_long: `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`,
  too_common: 'This password is one of the most common passwords and would be guessed quickly; choose another.',
  repetitive: 'This password repeats the same few characters and would be guessed quickly; choose another.',
  contains_email: 'The password must not contain your email address or its name part.',
  not_text: 'The password must be text.',
};

/** Context words shorter than this are too likely to occur by chance to refuse a password for. */
const MIN_CONTEXT_WORD = 4;
const SERVICE_NAME = 'gatehouse';

/** `email`, when given, is the normalised address of the account the password is for. */
export function checkPassword(raw: unknown, context: { email?: string } = {}): PasswordProblem | undefined {
  if (typeof raw !== 'string') return 'not_text';
  const password = normalizePassword(raw);
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (length > MAX_PASSWORD_LENGTH) return 'too_long';
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower) || lower === SERVICE_NAME) return 'too_common';
  if (/^(.{1,4}?)\1+$/su.test(password)) return 'repetitive';
  if (context.email) {
    const words = [context.email, context.email.split('@')[0]!].filter((w) => w.length >= MIN_CONTEXT_WORD);
    if (words.some((w) => lower.includes(w))) return 'contains_email';
  }
  return undefined;
}

/** Throws a 400 that says why (field `password`, the problem as its reason) when the password is refused. */
export function assertAcceptablePassword(raw: unknown, context: { email?: string } = {}): asserts raw is string {
  const problem = checkPassword(raw, context);
  if (problem) throw new FieldError('password', problem, PASSWORD_PROBLEMS[problem]);
}
