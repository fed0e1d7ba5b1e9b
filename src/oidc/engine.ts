import type { Config } from '../config/schema.js';
import { cachedResources } from '../clients/cached-resources.js';
import type { KeyRuntime } from '../keys/key-runtime.js';
import type { Keyring } from '../keys/keyring-files.js';
import { providerJwks } from '../keys/provider-jwks.js';
import { jwksMaxAge } from '../keys/rotation.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Services } from '../services.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCurrentSession } from './account-sessions.js';
import { clientMetadata } from './adapter.js';
import { createProvider } from './create-provider.js';
import { createInteractions } from './interactions.js';
import type { ProviderPages } from './pages.js';
import { createProviderHost } from './provider-host.js';

export interface EngineDeps {
  config: Readonly<Config>;
  services: Services;
  keys: KeyRuntime;
  pages: ProviderPages;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
}

/** How long each instance keeps API definitions: a new or changed API reaches every instance within it. */
const API_CACHE_MS = 5000;

/**
 * The protocol engine (oidc-provider) wired to our stores, guard and pages, rebuilt with every new
 * key set and swapped in: requests already inside the old engine finish there.
 */
export function createEngine(deps: EngineDeps) {
  const { config, services, keys, clock } = deps;
  const resources = cachedResources(services.resources, API_CACHE_MS, clock);
  const jwksCacheSeconds = () => jwksMaxAge(clock.now(), config.keyPrepublish, keys.nextChange());
  const build = (ring: Keyring) =>
    createProvider({
      config,
      jwks: providerJwks(ring, clock.now()),
      clientAuthFailed: (clientId, ip) => services.guard.clientFailed(clientId, ip),
      jwksCacheSeconds,
      keyUsable: (kid) => keys.keyUsable(kid),
      userCodes: {
        admit: async (ip) => {
          const d = await services.guard.admitUserCode(ip);
          return d.ok ? d : { ok: false, retryAfter: d.refusal.retryAfter, started: d.refusal.started, banned: d.refusal.reason === 'ip_banned' };
        },
        settle: (ip) => services.guard.userCodeRight(ip),
      },
      oidcStore: services.oidcStore,
      clientMetadata: async (id) => {
        const client = await services.clients.findById(id);
        return client ? clientMetadata(client) : undefined;
      },
      resources,
      users: services.users,
      pages: deps.pages,
      rotations: services.rotations,
      revocations: services.revocations,
      audit: services.audit,
      metrics: deps.metrics,
      clock,
      logger: deps.logger,
    });
  const providers = createProviderHost(build(keys.current()));
  keys.onChange((ring) => providers.swap(build(ring)));
  return {
    providers,
    interactions: createInteractions(providers),
    /** The JWKS's `Cache-Control` at this moment (it shortens as the next key change nears). */
    jwksCacheControl: () => `public, max-age=${jwksCacheSeconds()}`,
    /** The account signed in in this browser (the account page), from the engine's session cookie. */
    currentSession: (req: IncomingMessage, res: ServerResponse) => readCurrentSession(providers, req, res),
  };
}

export type Engine = ReturnType<typeof createEngine>;
