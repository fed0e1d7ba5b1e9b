import { createHmac } from 'node:crypto';
import { constantTimeEqual, sha256 } from './digest.js';
import { randomToken } from './random.js';

/**
 * The "this browser has signed in here before" cookie (docs/architecture.md, Brute-force defense, layer 3): a random device
 * id and the accounts (as short hashes of their emails) that logged in from it, signed with SECRETS.
 * A browser that presents it for an account is throttled per device instead of being locked out with
 * everyone else, so an attacker hammering the account cannot lock its owner out.
 */
const VERSION = 'v1';
const MAX_ACCOUNTS = 10;

export interface Device {
  id: string;
  accounts: string[];
}

const tagOf = (email: string) => sha256(email.trim().toLowerCase()).slice(0, 16);
const mac = (secret: string, body: string) => createHmac('sha256', secret).update(`device:${body}`).digest('base64url');

export function readDeviceCookie(secrets: readonly string[], value: string | undefined): Device | undefined {
  if (!value || value.length > 1000) return undefined;
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
  const body = parts.slice(0, 3).join('.');
  if (!secrets.some((s) => constantTimeEqual(mac(s, body), parts[3]!))) return undefined;
  return { id: parts[1]!, accounts: parts[2] ? parts[2].split(',') : [] };
}

/** The device id, when this browser has logged into `email` before. */
export function trustedDeviceFor(device: Device | undefined, email: string): string | undefined {
  return device && device.accounts.includes(tagOf(email)) ? device.id : undefined;
}

/** The cookie value after a successful login to `email` (most recent accounts kept). */
export function deviceCookieAfterLogin(secrets: readonly string[], device: Device | undefined, email: string): string {
  const id = device?.id ?? randomToken(16);
  const accounts = [tagOf(email), ...(device?.accounts ?? []).filter((a) => a !== tagOf(email))].slice(0, MAX_ACCOUNTS);
  const body = `${VERSION}.${id}.${accounts.join(',')}`;
  return `${body}.${mac(secrets[0]!, body)}`;
}
