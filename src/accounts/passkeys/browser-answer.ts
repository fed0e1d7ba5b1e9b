import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/**
 * A browser's answer to a WebAuthn ceremony (the JSON of a PublicKeyCredential, as the page's script
 * posts it), or undefined when it is not even shaped like one. The library checks everything else.
 */
export function parseRegistration(text: string): RegistrationResponseJSON | undefined {
  const value = parse(text);
  return value && typeof value.response.attestationObject === 'string' ? (value as unknown as RegistrationResponseJSON) : undefined;
}

export function parseAuthentication(text: string): AuthenticationResponseJSON | undefined {
  const value = parse(text);
  return value && typeof value.response.authenticatorData === 'string' && typeof value.response.signature === 'string'
    ? (value as unknown as AuthenticationResponseJSON)
    : undefined;
}

type Shape = { id: string; rawId: string; type: string; response: Record<string, unknown>; clientExtensionResults?: unknown };

function parse(text: string): Shape | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<Shape>;
  const base64url = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= 1400 && /^[A-Za-z0-9_-]+$/.test(s);
  if (!base64url(v.id) || v.rawId !== v.id || v.type !== 'public-key') return undefined;
  if (typeof v.response !== 'object' || v.response === null || typeof v.response.clientDataJSON !== 'string') return undefined;
  return { ...v, clientExtensionResults: v.clientExtensionResults ?? {} } as Shape;
}
