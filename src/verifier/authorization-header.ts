/**
 * What a request presented: a token, nothing, or something broken. Accepts an `Authorization` header
 * value (`Bearer <token>`, RFC 6750 §2.1) or a raw token (from wherever else a service keeps it).
 * Never a query string or a form body: RFC 6750 §2.2/2.3 methods are not supported.
 */
export type Presented = { kind: 'token'; token: string } | { kind: 'missing' } | { kind: 'malformed' };

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: |$)/;
const EMPTY_BEARER = /^bearer *$/i;

export function readAuthorization(input: unknown): Presented {
  const header = readBearerHeader(input);
  // Not a header but one word: a raw token.
  if (header.kind === 'malformed' && typeof input === 'string' && !input.includes(' ')) return { kind: 'token', token: input };
  return header;
}

/** An `Authorization` header value only: the Bearer scheme is required (a bare token is malformed). */
export function readBearerHeader(input: unknown): Presented {
  if (input === undefined || input === null || input === '') return { kind: 'missing' };
  if (typeof input !== 'string') return { kind: 'malformed' };
  const bearer = BEARER.exec(input);
  if (bearer) return { kind: 'token', token: bearer[1]! };
  // `Bearer` with nothing after it (an empty $TOKEN in a script) carries no credentials at all.
  if (EMPTY_BEARER.test(input)) return { kind: 'missing' };
  if (input.includes(' ')) {
    // Another scheme (Basic, DPoP, ...) is "an unsupported authentication method" (RFC 6750 §3): no
    // token for us. A Bearer header with a broken token is malformed.
    return /^bearer /i.test(input) || !SCHEME.test(input) ? { kind: 'malformed' } : { kind: 'missing' };
  }
  return { kind: 'malformed' };
}
