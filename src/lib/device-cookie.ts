import { sha256 } from './digest.js';
import { randomToken } from './random.js';

/**
 * The "this browser has signed in here before" cookie (docs/architecture.md, Brute-force defense, layer 3): a random device
 * id and the accounts (as short hashes of their emails) that logged in from it. The HTTP layer signs
 * it with SECRETS (@fastify/cookie's signed cookies: the first secret signs, every secret verifies).
 * A browser that presents it for an account is throttled per device instead of being locked out with
 * everyone else, so an attacker hammering the account cannot lock its owner out.
 */
const VERSION = 'v2';
const MAX_ACCOUNTS = 10;

export interface Device {
  id: string;
  accounts: string[];
}

const tagOf = (email: string) => sha256(email.trim().toLowerCase()).slice(0, 16);

/** The device in a cookie value whose signature was already checked. */
export function parseDevice(value: string): Device | undefined {
  const parts = value.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !/^[A-Za-z0-9_-]{16,64}$/.test(parts[1]!)) return undefined;
  const accounts = parts[2] ? parts[2].split(',') : [];
  if (accounts.length > MAX_ACCOUNTS || accounts.some((a) => !/^[A-Za-z0-9_-]{16}$/.test(a))) return undefined;
  return { id: parts[1]!, accounts };
}

/** The device id, when this browser has logged into `email` before. */
export function trustedDeviceFor(device: Device | undefined, email: string): string | undefined {
  return device && device.accounts.includes(tagOf(email)) ? device.id : undefined;
}

/** The cookie value (to be signed) after a successful login to `email`: most recent accounts kept. */
export function deviceAfterLogin(device: Device | undefined, email: string): string {
  const id = device?.id ?? randomToken(16);
  const accounts = [tagOf(email), ...(device?.accounts ?? []).filter((a) => a !== tagOf(email))].slice(0, MAX_ACCOUNTS);
  return `${VERSION}.${id}.${accounts.join(',')}`;
}
