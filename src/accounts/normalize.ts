import { domainToASCII, domainToUnicode } from 'node:url';
import { FieldError } from '../errors.js';
import { isMixedScript, isWholeScriptLatinLookalike } from './scripts.js';

/** What is left after normalisation: one @, a dotted ASCII (punycode) domain, no header injection. */
const EMAIL = /^[^\s@\x00-\x1f\x7f<>(),;:"[\]\\]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * Characters that render as nothing or move text around: controls, format characters (zero-width
 * space and joiners, bidi overrides, soft hyphen), every default-ignorable code point (Hangul
 * fillers, variation selectors), separators, private-use, unassigned and surrogate code points.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Z}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Emails are unique after normalisation, so two addresses that look the same must normalise to the
 * same string or be refused (a look-alike account is a phishing tool):
 * - Unicode NFKC, then lower case (fullwidth `ａ` and the Kelvin sign `K` become ASCII letters);
 * - no invisible or control characters anywhere;
 * - the local part and each domain label written in one script (UTS #39 Highly Restrictive), and a
 *   local part not made only of Cyrillic or Greek letters that look Latin;
 * - an internationalised domain stored in its ASCII (punycode) form, as DNS and mail use it.
 */
export function normalizeEmail(raw: unknown): string {
  if (typeof raw !== 'string') throw new FieldError('email', 'not_a_string', 'must be a string');
  const text = raw.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
  if (INVISIBLE.test(text)) throw new FieldError('email', 'invisible_characters', 'is not a valid email address (it contains invisible, control or space characters)');
  const at = text.lastIndexOf('@');
  if (at <= 0 || text.length > 254) throw new FieldError('email', 'malformed', 'is not a valid email address');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (isMixedScript(local)) throw new FieldError('email', 'mixed_script', 'the part before @ mixes alphabets (e.g. Latin and Cyrillic letters); write it in one');
  if (isWholeScriptLatinLookalike(local)) throw new FieldError('email', 'lookalike_script', 'the part before @ is written in letters that imitate Latin ones');
  const ascii = domainToASCII(domain);
  const email = `${local}@${ascii}`;
  if (!ascii || email.length > 254 || !EMAIL.test(email)) throw new FieldError('email', 'malformed', 'is not a valid email address');
  // Checked on the Unicode form, so a domain typed as punycode (xn--…) is held to the same rule.
  const labels = domainToUnicode(ascii).split('.');
  if (labels.some((label) => isMixedScript(label))) throw new FieldError('email', 'mixed_script', 'a part of the domain mixes alphabets (e.g. Latin and Cyrillic letters)');
  if (labels.some((label) => isWholeScriptLatinLookalike(label))) throw new FieldError('email', 'lookalike_script', 'a part of the domain is written in letters that imitate Latin ones');
  return email;
}

/** NIST SP 800-63B: passwords are compared after Unicode NFKC normalisation, never truncated. */
export function normalizePassword(raw: string): string {
  return raw.normalize('NFKC');
}
