import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Schemas shared by the routes in src/http/routes. Every route declares its input (body, query
 * string, params) and a response schema for each status it answers with; handlers are typed from
 * them through the TypeBox type provider (`app.withTypeProvider<TypeBoxTypeProvider>()`).
 *
 * Two facts about fastify shape these:
 * - A JSON response is written by a serializer compiled from its schema, which DROPS every property
 *   the schema does not list: a schema must name every field the route returns (open-ended values,
 *   like an audit event's `detail`, are `Type.Unknown()`). A property listed as required but absent
 *   makes the serializer throw, so only always-present fields are required.
 * - A string payload is never serialized: HTML pages, the stylesheet and the Prometheus text are
 *   sent as they are, with the content type the route set. `Type.String()` schemas for them document
 *   the status without changing what is sent.
 *
 * Validation runs with the validators of src/http/plugins/strict-input.ts (query strings and URL
 * params coerced, bodies not), and its failures are worded by src/http/plugins/error-handler.ts.
 */

/**
 * `{ error, error_description }`: every JSON error (src/http/plugins/error-handler.ts). Input refused
 * because of one field also names it and why (`"field": "password", "reason": "too_short"`).
 */
export const ErrorBody = Type.Object({
  error: Type.String(),
  error_description: Type.String(),
  field: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});

/** The JSON error body for every 4xx and 5xx a JSON route can answer with. */
export const jsonErrors = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/** An HTML page (text/html), sent as is. */
export const HtmlPage = Type.String({ description: 'an HTML page (text/html)' });

/** The statuses of a route whose answers, errors included, are all pages (sendErrorPage). */
export const pageErrors = { '4xx': HtmlPage, '5xx': HtmlPage } as const;

/** 204 No Content, or a redirect (303): no body, so nothing to serialize (`reply.send()`). */
export const Empty = Type.Unsafe<undefined>({ description: 'no body' });

/** `T` or JSON null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One of these strings, as a JSON Schema `enum` (a union of literals would validate as `anyOf`, whose
 * first error reads "must be equal to constant" instead of "must be equal to one of the allowed values"). */
export const StringEnum = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
