import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, badRequest } from '../../errors.js';
import { lazyValidator } from '../lazy-schema-compilers.js';

/**
 * Bodies for the account API and the pages' forms, read strictly: JSON and urlencoded forms only,
 * UTF-8 that is really UTF-8 (Node would silently turn bad bytes into U+FFFD, and a lone surrogate
 * from a JSON `\ud800` escape would break later), percent-escapes that decode, and fields of exactly
 * the declared types (fastify's default validator turns `5` or `["x"]` into `"5"` or `"x"`; here a
 * wrong type is a 400). Forms a browser sent from another site are refused (Sec-Fetch-Site,
 * docs/security.md's CSRF rule, on top of the per-form tokens). Registered inside a scope, for that scope.
 */
export interface StrictInputOptions {
  /** Largest JSON body, bytes. */
  jsonLimit: number;
  /** Largest form body, bytes. */
  formLimit: number;
}

const FORM = 'application/x-www-form-urlencoded';

export function isFormRequest(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === FORM;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch (err) {
    throw badRequest('The request body is not valid UTF-8.', err);
  }
}

/** A lone UTF-16 surrogate (from a JSON escape) is not text. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Our bodies are flat objects; anything nested deeper is not a request we could accept. */
const MAX_DEPTH = 16;

/** Walks the parsed body without recursion (a body nested 20,000 deep must be a 400, not a stack
 * overflow): no lone surrogates, no nesting beyond MAX_DEPTH, and with `refuseNul` no U+0000 (which
 * PostgreSQL text and jsonb cannot hold: a ban reason with a NUL was a 500). Forms may carry one: the
 * login form's email is counted and audited as typed, made visible (accounts/login.ts). */
function assertWellFormed(body: unknown, what = 'The request body', refuseNul = false): void {
  const pending: { value: unknown; depth: number }[] = [{ value: body, depth: 0 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) throw badRequest(`${what} contains an invalid Unicode escape.`);
      if (refuseNul && value.includes('\u0000')) throw badRequest(`${what} contains a NUL character.`);
    } else if (value && typeof value === 'object') {
      if (depth >= MAX_DEPTH) throw badRequest(`${what} is nested too deeply (more than ${MAX_DEPTH} levels).`);
      for (const [k, v] of Object.entries(value)) {
        pending.push({ value: k, depth: depth + 1 }, { value: v, depth: depth + 1 });
      }
    }
  }
}

/** application/x-www-form-urlencoded, strictly: bad escapes and invalid UTF-8 in escapes are errors.
 * Repeated names become arrays (which the schema then refuses where it expects one string). */
export function parseForm(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [rawName, rawValue] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch (err) {
      throw badRequest('The form data is malformed (a bad %-escape or invalid UTF-8).', err);
    }
    const previous = fields[name];
    fields[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return fields;
}

/**
 * The two validators, made once per process and shared by every scope (each new Ajv compiles the
 * JSON Schema meta-schema again; a schema used in two scopes is compiled once). Our schemas are
 * checked against the meta-schema by the tests (test/http/route-schemas.test.ts), not at each start.
 */
let shared: { strict: Ajv; textual: Ajv } | undefined;
function validators(): { strict: Ajv; textual: Ajv } {
  const options = { useDefaults: false, removeAdditional: false, allErrors: false, validateSchema: false } as const;
  // A query string or a URL path is text by nature: `?limit=5` is the integer 5 (and `?limit=five`
  // still a 400). Bodies keep their JSON types exactly.
  shared ??= { strict: new Ajv({ ...options, coerceTypes: false }), textual: new Ajv({ ...options, coerceTypes: true }) };
  return shared;
}

/** The validator of one part of a request (`body`, `querystring`, ...), compiled now. */
export function compileInputSchema(schema: object, httpPart: string | undefined): ValidateFunction {
  const { strict, textual } = validators();
  return (httpPart === 'querystring' || httpPart === 'params' ? textual : strict).compile(schema);
}

export const strictInput = fp(async function strictInput(scope: FastifyInstance, options: StrictInputOptions) {
  scope.removeAllContentTypeParsers();
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: options.jsonLimit }, (request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8(body as Buffer);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parseJson(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      try {
        assertWellFormed(parsed, 'The request body', true);
      } catch (e) {
        return done(e as Error, undefined);
      }
      done(null, parsed);
    });
  });
  scope.addContentTypeParser(FORM, { parseAs: 'buffer', bodyLimit: options.formLimit }, async (_request: FastifyRequest, body: Buffer) => {
    const fields = parseForm(decodeUtf8(body));
    assertWellFormed(fields);
    return fields;
  });

  // Compiled on the route's first request, not at start (src/http/lazy-schema-compilers.ts).
  scope.setValidatorCompiler(({ schema, httpPart }) => lazyValidator(() => compileInputSchema(schema, httpPart)));

  scope.addHook('preValidation', async (request) => {
    assertWellFormed(request.query, 'The query string', true);
    assertWellFormed(request.params, 'The URL path', true);
  });

  scope.addHook('onRequest', async (request) => {
    const site = request.headers['sec-fetch-site'];
    if (request.method === 'POST' && isFormRequest(request) && (site === 'cross-site' || site === 'same-site')) {
      throw new AppError('access_denied', 'This form was not sent from this site.');
    }
  });
});
