import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The words of every page and mail, one flat JSON file per language (`src/locales/<lang>.json`,
 * keys like `login.title`). An operator's `TEMPLATES_DIR/locales/<lang>.json` is merged over ours key
 * by key, and may add a language; a key missing in a language falls back to English.
 *
 * Our own lookup rather than i18next: the pages need a flat key → sentence table with `{name}`
 * placeholders, synchronous, loaded once at start and checked there; i18next would bring a global
 * instance, asynchronous initialisation and plural/format machinery that no page uses.
 */
export const FALLBACK_LOCALE = 'en';

/** What a template or a route puts on a page: a message key, with values for its `{placeholders}`. */
export interface Words {
  key: string;
  vars?: Record<string, string | number>;
  /** Said when no message file has `key` (a sentence from code that has no key of its own yet). */
  fallback?: string;
}
export const words = (key: string, vars?: Words['vars']): Words => ({ key, vars });

export interface Messages {
  /** The languages there are messages for, sorted (`en` always among them). */
  readonly locales: readonly string[];
  /** The sentence for `key` in `locale` (English where that language lacks it), placeholders filled. */
  text(locale: string, key: string, vars?: Words['vars']): string;
  has(locale: string, key: string): boolean;
}

export class MessagesError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const LOCALE_FILE = /^([a-z]{2,3}(?:-[A-Z]{2})?)\.json$/;

function readTable(file: string, shownAs: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MessagesError(shownAs, `is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MessagesError(shownAs, 'must be one JSON object of "key": "sentence"');
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new MessagesError(shownAs, `key ${JSON.stringify(key)} is not a string`);
  }
  return parsed as Record<string, string>;
}

function readFolder(dir: string, shownAs: (name: string) => string): Map<string, Record<string, string>> {
  const tables = new Map<string, Record<string, string>>();
  if (!existsSync(dir)) return tables;
  for (const name of readdirSync(dir).sort()) {
    const m = LOCALE_FILE.exec(name);
    if (!m) throw new MessagesError(shownAs(name), 'is not a language file (expected <lang>.json, e.g. de.json or pt-BR.json)');
    tables.set(m[1]!, readTable(join(dir, name), shownAs(name)));
  }
  return tables;
}

const fill = (sentence: string, vars: Words['vars']) =>
  vars ? sentence.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : sentence;

/** Reads the built-in messages and the operator's (`overrideDir`, may be absent) once. */
export function loadMessages(builtInDir: string, overrideDir?: string): Messages {
  const tables = readFolder(builtInDir, (name) => `src/locales/${name}`);
  if (overrideDir) {
    for (const [locale, table] of readFolder(overrideDir, (name) => `locales/${name}`)) tables.set(locale, { ...tables.get(locale), ...table });
  }
  const english = tables.get(FALLBACK_LOCALE) ?? {};
  const lookup = (locale: string, key: string) => tables.get(locale)?.[key] ?? english[key];
  return {
    locales: [...tables.keys()].sort(),
    text: (locale, key, vars) => fill(lookup(locale, key) ?? key, vars),
    has: (locale, key) => tables.get(locale)?.[key] !== undefined,
  };
}
