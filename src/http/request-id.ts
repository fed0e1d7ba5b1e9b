import { randomUUID } from 'node:crypto';

/** The header a request id comes in on (from a proxy or a client) and goes back out on. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What we accept as someone else's request id: short, printable, no spaces or quotes. */
const ACCEPTABLE = /^[A-Za-z0-9._:/@+=-]{1,128}$/;

/**
 * The id of a request, in every log line about it and in its `X-Request-Id` answer header: the one a
 * proxy or client sent, when it is acceptable, so one id follows a request through every hop;
 * otherwise a new UUID.
 */
export function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE.test(header) ? header : randomUUID();
}
