import { FieldError } from '../errors.js';

/** Scope tokens per RFC 6749 §3.3: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function parseScopes(text: string, field: string): string[] {
  const scopes = text.split(/\s+/).filter(Boolean);
  for (const s of scopes) {
    if (!SCOPE_TOKEN.test(s) || s.length > 100) throw new FieldError(field, 'invalid_scope', `"${s}" is not a valid scope`);
  }
  return [...new Set(scopes)];
}

/** RFC 8707 §2: a resource indicator is an absolute URI without a fragment. */
export function parseAudience(text: string, field = 'audience'): string {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldError(field, 'not_absolute', `"${value}" is not an absolute URI (e.g. https://api.example.com)`);
  }
  if (url.hash || value.includes('#')) throw new FieldError(field, 'fragment', 'must not contain a fragment');
  if (value.length > 500) throw new FieldError(field, 'too_long', 'is too long');
  return value;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Redirect URIs are matched exactly (docs/security.md), so they must be exact: absolute, no fragment;
 * https, or http on loopback only, or a private-use scheme (`com.example.app:/cb`) for native apps.
 */
export function parseRedirectUri(text: string, field: string): { uri: string; native: boolean } {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldError(field, 'not_absolute', `"${value}" is not an absolute URL`);
  }
  if (url.hash || value.includes('#')) throw new FieldError(field, 'fragment', `"${value}" must not contain a fragment`);
  if (url.protocol === 'https:') return { uri: value, native: false };
  if (url.protocol === 'http:') {
    if (!LOOPBACK.has(url.hostname)) throw new FieldError(field, 'insecure', `"${value}" must use https (http only for localhost)`);
    return { uri: value, native: false };
  }
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)) return { uri: value, native: true };
  throw new FieldError(field, 'scheme', `"${value}" must be https, http://localhost, or a reverse-domain scheme like com.example.app:/callback`);
}
