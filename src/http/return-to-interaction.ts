import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Remembers, for the pages behind mailed links, which sign-in the person left to sign up or reset a
 * password, so that "Email address confirmed" and "Password changed" can offer "Continue signing in"
 * to that same interaction. The cookie holds only the interaction's uid (oidc-provider's own signed
 * interaction cookie still guards the interaction), is scoped to /account, and lives as long as an
 * interaction does.
 */
const NAME = 'gatehouse_return';
const UID = /^[A-Za-z0-9_-]{1,64}$/;
const INTERACTION_TTL_SECONDS = 30 * 60;

export function rememberInteraction(reply: FastifyReply, uid: string, secure: boolean): void {
  if (!UID.test(uid)) return;
  reply.setCookie(NAME, uid, { path: '/account', maxAge: INTERACTION_TTL_SECONDS, httpOnly: true, sameSite: 'lax', secure });
}

export function rememberedInteraction(request: FastifyRequest): string | undefined {
  const uid = request.cookies[NAME];
  return uid && UID.test(uid) ? uid : undefined;
}
