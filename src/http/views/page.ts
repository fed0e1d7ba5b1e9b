import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Words } from '../../i18n/messages.js';
import { builtInPresentation, type Presentation } from '../../rendering/presentation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Pages and mails in the person's language (rendering/presentation.ts), decorated by pageHeadersPlugin. */
    presentation: Presentation;
  }
}

/** What a page says: a message key, a key with values, or several sentences in a row. */
export type Say = string | Words | readonly Words[];

/** A page still to be rendered: its template (src/templates/pages/<template>.eta) and the values it shows. */
export interface Page {
  template: string;
  data: object;
}
export const page = (template: string, data: object = {}): Page => ({ template, data });

/** The server's presentation; the built-in one on a server without pageHeadersPlugin (tests that compose a few plugins). */
const presentationOf = (request: FastifyRequest): Presentation =>
  request.server.hasDecorator('presentation') ? request.server.presentation : builtInPresentation();

/** The language of this request's page: `uiLocales` (from the authorization request, when there is
 * one), then Accept-Language, then DEFAULT_LOCALE (i18n/choose-locale.ts). */
export function pageLocale(request: FastifyRequest, uiLocales?: string | null): string {
  return presentationOf(request).chooseLocale({ uiLocales, acceptLanguage: request.headers['accept-language'] ?? null });
}

export function renderPage(request: FastifyRequest, body: Page, uiLocales?: string | null): string {
  return presentationOf(request).page(pageLocale(request, uiLocales), body.template, body.data);
}

export function sendPage(reply: FastifyReply, status: number, body: Page, uiLocales?: string | null): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(renderPage(reply.request, body, uiLocales));
}
