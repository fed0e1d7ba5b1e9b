import { INTROSPECTS_PROPERTY } from './adapter.js';

/** The caller as the engine authenticated it. */
export interface IntrospectionCaller {
  clientId: string;
  clientAuthMethod?: string;
  [INTROSPECTS_PROPERTY]?: string[];
}

/** The token as far as the policy needs it. */
export interface IntrospectedToken {
  clientId?: string | undefined;
  /** Access tokens only; refresh tokens never name an audience here, so no API sees them. */
  aud?: string | string[] | undefined;
}

/**
 * Who may learn what a token is (RFC 7662 §4: the server decides who may introspect which token):
 * the client it was issued to, and a confidential client registered as the introspector of the API
 * the access token is for (an API's own client, `clients create --introspect <audience>`). Anyone
 * else is answered `{ active: false }`, as if the token did not exist.
 */
export function mayIntrospect(caller: IntrospectionCaller, token: IntrospectedToken): boolean {
  if (token.clientId !== undefined && token.clientId === caller.clientId) return true;
  if (caller.clientAuthMethod === 'none') return false;
  const audiences = token.aud === undefined ? [] : Array.isArray(token.aud) ? token.aud : [token.aud];
  const introspects = caller[INTROSPECTS_PROPERTY] ?? [];
  return audiences.length > 0 && audiences.every((a) => introspects.includes(a));
}
