/**
 * A UTS #39-style mixed-script test ("Highly Restrictive", §5.2): a string passes when its letters
 * come from one script, or from Latin with the scripts that are written together with Han (Japanese:
 * Hiragana + Katakana; Chinese: Bopomofo; Korean: Hangul). Characters of the Common and Inherited
 * scripts (digits, punctuation, combining marks) belong to every script. Whole-script look-alikes of
 * Latin in Cyrillic and Greek (a local part written only with letters that look Latin) are refused
 * too (§4, whole-script confusables, for the scripts that actually get mistaken for Latin).
 */
const SCRIPTS = [
  'Latin', 'Cyrillic', 'Greek', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Nko',
  'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam',
  'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Cherokee',
  'Canadian_Aboriginal', 'Han', 'Hiragana', 'Katakana', 'Bopomofo', 'Hangul', 'Yi', 'Tifinagh',
  'Javanese', 'Balinese', 'Sundanese', 'Tagalog', 'Vai', 'Bamum', 'Ol_Chiki', 'Runic', 'Ogham',
] as const;
const MATCHERS = SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** The script of one character; characters of scripts not listed share one "Other" bucket. */
function scriptOf(ch: string): string | undefined {
  if (NEUTRAL.test(ch)) return undefined;
  return MATCHERS.find(([, re]) => re.test(ch))?.[0] ?? 'Other';
}

export function scriptsOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const ch of text) {
    const s = scriptOf(ch);
    if (s) found.add(s);
  }
  return found;
}

const HAN_COMPANIONS = [new Set(['Latin', 'Han', 'Hiragana', 'Katakana']), new Set(['Latin', 'Han', 'Bopomofo']), new Set(['Latin', 'Han', 'Hangul'])];

/** True when `text` mixes scripts beyond what UTS #39's Highly Restrictive level allows. */
export function isMixedScript(text: string): boolean {
  const scripts = scriptsOf(text);
  if (scripts.size <= 1) return false;
  return !HAN_COMPANIONS.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

/** Lower-case Cyrillic and Greek letters that render like a Latin letter (UTS #39 confusables). */
const LATIN_LOOKALIKES = new Set([...'аеорсухіјѕԁԛԝһӏԍ', ...'οαικνρυχη']);

/** True when every letter of `text` is a non-Latin letter that looks like a Latin one. */
export function isWholeScriptLatinLookalike(text: string): boolean {
  const letters = [...text].filter((ch) => /\p{L}/u.test(ch));
  return letters.length > 0 && letters.every((ch) => LATIN_LOOKALIKES.has(ch));
}
