import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, describe, type ErrorCode } from '../../errors.js';
import { ACCOUNT_LINK, messagePage } from '../views/message-pages.js';
import { pageLocale, renderPage, type Say } from '../views/page.js';

/**
 * The one place errors become responses: `{ error, error_description }` with a 4xx for anything the
 * client got wrong, `server_error` (500, message withheld, logged once with its cause) for the rest.
 * Never a stack trace.
 */
export type ErrorBody = { error: ErrorCode | string; error_description: string; field?: string; reason?: string };

/** fastify's own request errors, in the catalogue's terms. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; description?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', description: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', description: 'This content type is not accepted here.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_request', description: 'The Content-Length header does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_request', description: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_request', description: 'The body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'unsupported_media_type', description: 'The Content-Type header is empty.' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'unsupported_media_type', description: 'The Content-Type header is invalid.' },
  FST_ERR_BAD_URL: { code: 'invalid_request', description: 'The URL is malformed.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'invalid_request' },
};

export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string>; log: boolean } {
  if (error instanceof AppError) {
    if (error.expose) {
      const body: ErrorBody = { error: error.error, error_description: error.message };
      // A refused field says which and why, for a client that shows the message next to the field.
      if (error.field !== undefined) body.field = error.field;
      if (error.reason !== undefined) body.reason = error.reason;
      // A 5xx is logged with its cause; a 503 without one is load shed on purpose (a full hashing
      // queue), which the access log line already shows: under a flood, one line per refusal is enough.
      const log = error.statusCode >= 500 && !(error.code === 'temporarily_unavailable' && error.cause === undefined);
      return { status: error.statusCode, body, headers: { ...error.headers }, log };
    }
    return serverError();
  }
  const fe = error as Partial<FastifyError> & { validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    return { status: describe('invalid_request').status, body: { error: 'invalid_request', error_description: validationMessage(fe) }, headers: {}, log: false };
  }
  if (fe && typeof fe.code === 'string' && fe.code in FASTIFY_CODES) {
    const known = FASTIFY_CODES[fe.code]!;
    const entry = describe(known.code);
    return { status: entry.status, body: { error: entry.error, error_description: known.description ?? 'The request is malformed.' }, headers: {}, log: false };
  }
  // Other errors fastify itself raised for a bad request (4xx) carry a safe message.
  if (fe && typeof fe.code === 'string' && fe.code.startsWith('FST_') && (fe.statusCode ?? 500) < 500) {
    return { status: fe.statusCode!, body: { error: 'invalid_request', error_description: 'The request is malformed.' }, headers: {}, log: false };
  }
  // Body parsers (e.g. invalid UTF-8, bad percent-encoding) mark their own 4xx errors.
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && (fe as { expose?: boolean }).expose) {
    return { status: fe.statusCode, body: { error: 'invalid_request', error_description: 'The request body is malformed.' }, headers: {}, log: false };
  }
  return serverError();
}

function serverError() {
  return {
    status: describe('server_error').status,
    body: { error: 'server_error', error_description: 'The server could not complete the request.' },
    headers: {},
    log: true,
  };
}

function validationMessage(error: Partial<FastifyError> & { validationContext?: string }): string {
  const first = error.validation?.[0];
  if (!first) return 'The request is invalid.';
  const where = error.validationContext ?? 'request';
  const path = first.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  if (first.keyword === 'required' && missing) return `The ${where} is missing the field "${missing}".`;
  if (first.keyword === 'additionalProperties') {
    const extra = (first.params as { additionalProperty?: string }).additionalProperty;
    return `The ${where} has an unexpected field "${extra}".`;
  }
  return `The ${where}${path ? ` field "${path}"` : ''} ${first.message ?? 'is invalid'}.`;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const response = toErrorResponse(error);
  if (response.log) request.log.error({ err: error }, 'request failed');
  return reply.code(response.status).headers(response.headers).header('cache-control', 'no-store').send(response.body);
}

/** The same decision as sendError, as a readable page, for routes a browser submits forms to. */
export function sendErrorPage(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const response = toErrorResponse(error);
  if (response.log) request.log.error({ err: error }, 'request failed');
  const [title, sentence]: [string, Say] =
    response.status === 503
      ? ['unavailable.title', 'error.temporarily_unavailable']
      : response.status >= 500
        ? ['error.title', 'error.server_error']
        : ['refused.title', { key: `refusal.${response.body.error}`, vars: { seconds: response.headers['retry-after'] ?? '' }, fallback: response.body.error_description }];
  // Never a dead end: the account page is always a way on (sign in, then manage the account).
  const html = typeof sentence === 'string' ? fixedPage(request, title, sentence) : renderPage(request, messagePage(title, sentence, ACCOUNT_LINK));
  return reply.code(response.status).headers(response.headers).type('text/html; charset=utf-8').send(html);
}

/**
 * A page whose words depend on nothing but the language (the 5xx pages), rendered once per
 * presentation and language: a 503 answered to a flood (a full hashing queue) costs no templating.
 */
const fixedPages = new WeakMap<object, Map<string, string>>();
/** Stands for the built-in presentation (a server without pageHeadersPlugin: tests of a few plugins). */
const BUILT_IN = {};
function fixedPage(request: FastifyRequest, title: string, sentence: string): string {
  const presentation = request.server.hasDecorator('presentation') ? request.server.presentation : BUILT_IN;
  let pages = fixedPages.get(presentation);
  if (!pages) fixedPages.set(presentation, (pages = new Map()));
  const key = `${pageLocale(request)} ${title} ${sentence}`;
  let html = pages.get(key);
  if (html === undefined) pages.set(key, (html = renderPage(request, messagePage(title, sentence, ACCOUNT_LINK))));
  return html;
}

export const errorHandlerPlugin = fp(async function errorHandler(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AppError('not_found', `There is nothing at ${request.method} ${request.url.split('?')[0]}.`)),
  );
});
