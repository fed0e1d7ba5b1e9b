/**
 * Label values for the Prometheus metrics. Every series costs memory until restart and bytes on every
 * scrape, so no label may carry text a caller chose (a grant_type, a method, a path): each value is
 * mapped onto a closed set, and anything outside it counts as `other`.
 */
function closedSet<T extends string>(values: readonly T[]): (value: unknown) => T | 'other' {
  const allowed = new Set<string>(values);
  return (value) => (typeof value === 'string' && allowed.has(value) ? (value as T) : 'other');
}

/** The grant types Gatehouse enables (discovery's grant_types_supported). */
export const grantLabel = closedSet([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
]);

/** The error codes a token endpoint answers with (RFC 6749 §5.2, RFC 8628 §3.5, RFC 8707 §2, our 429). */
export const oauthErrorLabel = closedSet([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  'too_many_requests',
  'server_error',
]);

/** The methods any of our routes answers; the rest of what the HTTP parser accepts (WebDAV…) is `other`. */
export const methodLabel = closedSet(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Why the guard refused a request: the login refusals, client authentication, and the per-IP
 * signup and reset limits. */
export const throttleLabel = closedSet([
  'ip_banned',
  'ip_blocked',
  'throttled',
  'account_locked',
  'client_auth',
  'signup_ip_banned',
  'signup_ip_blocked',
  'reset_ip_banned',
  'reset_ip_blocked',
]);

/** How a login attempt ended: success, a failure reason, or the guard's refusal reason. */
export const loginOutcomeLabel = closedSet([
  'success',
  'invalid_credentials',
  'banned',
  'unverified',
  'password_disabled',
  'ip_banned',
  'ip_blocked',
  'throttled',
  'account_locked',
]);
