import { createClient, type CreateClientInput } from '../../src/admin/clients.ts';
import { createResource } from '../../src/admin/resources.ts';
import { createUser } from '../../src/accounts/create-user.ts';
import type { Services } from '../../src/services.ts';

/** Registers an API the way `gatehouse resources create` does. */
export function registerApi(s: Services, audience: string, scope = '', ttl?: number) {
  return createResource({ resources: s.resources, clients: s.clients, audit: s.audit, clock: s.clock, atomically: s.atomically }, { audience, scope, ...(ttl ? { ttl } : {}) });
}

/** Registers a client the way `gatehouse clients create` does. */
export function registerClient(s: Services, input: CreateClientInput) {
  return createClient({ clients: s.clients, resources: s.resources, audit: s.audit, clock: s.clock, atomically: s.atomically }, input);
}

/** An account that can log in right away. */
export function createVerifiedUser(s: Services, email: string, password: string) {
  return createUser(s, { email, password, verified: true });
}

export const PASSWORD = 'correct horse battery staple';
