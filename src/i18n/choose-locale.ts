/**
 * The language of a page or mail: the first of the authorization request's `ui_locales` (OIDC Core
 * §3.1.2.1, space-separated, in order of preference) that we have, then the best `Accept-Language`
 * entry (RFC 9110 §12.5.4, by q-value), then the configured default. A regional tag (`de-CH`) takes
 * its language (`de`) when only that exists.
 */
export interface LocaleHints {
  uiLocales?: string | null;
  acceptLanguage?: string | null;
}

function match(tag: string, available: readonly string[]): string | undefined {
  const wanted = tag.trim().toLowerCase();
  if (!wanted || wanted === '*') return undefined;
  return available.find((l) => l.toLowerCase() === wanted) ?? available.find((l) => l.toLowerCase() === wanted.split('-')[0]);
}

/** `Accept-Language` entries, best first (equal q-values keep their order); q=0 means "not this". */
export function acceptedLanguages(header: string): string[] {
  return header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((e) => e.tag && Number.isFinite(e.q) && e.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((e) => e.tag);
}

export function chooseLocale(hints: LocaleHints, available: readonly string[], defaultLocale: string): string {
  for (const tag of (hints.uiLocales ?? '').split(' ')) {
    const found = match(tag, available);
    if (found) return found;
  }
  for (const tag of acceptedLanguages(hints.acceptLanguage ?? '')) {
    const found = match(tag, available);
    if (found) return found;
  }
  return defaultLocale;
}
