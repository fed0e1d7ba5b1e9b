import type { ResourceRepository } from '../clients/records.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { AuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createKeyStateProbe } from './key-state-probe.js';
import type { Keyring } from './keyring-files.js';
import { rotateIfDue } from './keyring-ops.js';
import { watchKeyring } from './keyring-watcher.js';
import { loadOrCreateKeyring } from './load-keyring.js';
import type { RotationTiming } from './rotation.js';
import { keyState, nextChangeAt, signingKey, SIGNING_ALGS, type SigningAlg } from './schedule.js';

export type KeyConfig = Pick<
  Config,
  'keysDir' | 'keyReloadInterval' | 'keyRotationInterval' | 'keyPrepublish' | 'accessTokenTtl' | 'idTokenTtl' | 'clockSkew'
>;

export interface KeyRuntimeDeps {
  config: Readonly<KeyConfig>;
  clock: Clock;
  /** For the longest token lifetime a retired key must outlive (an API may have its own TTL). */
  resources: Pick<ResourceRepository, 'list'>;
  audit: AuditLog;
  metrics: Pick<Metrics, 'keys' | 'activeKey' | 'nextKeyChange'>;
  logger: Logger;
  /** The keyring was created for this start by the primary process (WORKERS > 1): audited here. */
  keyringCreated?: boolean;
}

/**
 * How long a retired key must stay published: the longest lifetime of any token it can have signed
 * (access tokens, including an API's own TTL, and ID tokens) plus the clock skew we tolerate.
 */
export async function rotationTiming(
  deps: { config: Readonly<KeyConfig>; resources: Pick<ResourceRepository, 'list'> },
  immediately: boolean,
): Promise<RotationTiming> {
  const apiTtls = (await deps.resources.list()).map((r) => r.accessTokenTtl ?? 0);
  const longest = Math.max(deps.config.accessTokenTtl, deps.config.idTokenTtl, ...apiTtls);
  return { prepublish: immediately ? 0 : deps.config.keyPrepublish, keepRetired: longest + deps.config.clockSkew };
}

/**
 * An instance's live signing keys: the keyring loaded (or created on first start), re-read on an
 * interval, on demand (SIGHUP) and at every scheduled state change, rotated automatically when
 * KEY_ROTATION_INTERVAL says so, and reported in /metrics. Listeners hear of every new key set
 * (the protocol engine is rebuilt with it).
 */
export async function startKeyRuntime(deps: KeyRuntimeDeps) {
  const { config, clock, logger, metrics } = deps;
  const initial = await loadOrCreateKeyring(config.keysDir, clock);
  if (initial.created || deps.keyringCreated) await deps.audit.record({ type: 'keys.created', detail: { kids: initial.manifest.keys.map((k) => k.kid) } });

  let keyring: Keyring = initial;
  let nextChange = nextChangeAt(initial.manifest.keys, clock.now());
  const listeners: Array<(ring: Keyring) => void> = [];

  const recordMetrics = (ring: Keyring) => {
    const now = clock.now();
    metrics.keys.reset();
    metrics.activeKey.reset();
    for (const entry of ring.manifest.keys) metrics.keys.inc({ alg: entry.alg, state: keyState(entry, now) });
    for (const alg of SIGNING_ALGS) {
      const active = signingKey(ring.manifest.keys, alg, now);
      if (active) metrics.activeKey.set({ alg, kid: active.kid }, 1);
    }
    metrics.nextKeyChange.set((nextChangeAt(ring.manifest.keys, now)?.getTime() ?? 0) / 1000);
  };
  recordMetrics(initial);

  // Our own token checks re-read the manifest, so a revocation by the CLI counts at once; seeing it
  // also reloads this instance's key set, so it stops signing with the revoked key now.
  const probe = createKeyStateProbe({ dir: config.keysDir, clock, initial: initial.manifest.keys, onChange: () => watcher.reload() });

  const watcher = watchKeyring({
    dir: config.keysDir,
    clock,
    intervalMs: config.keyReloadInterval * 1000,
    initial,
    beforeRead: config.keyRotationInterval
      ? async () => {
          const rotated = await rotateIfDue(config.keysDir, clock, await rotationTiming(deps, false), config.keyRotationInterval!);
          if (rotated) await deps.audit.record({ type: 'keys.rotated', detail: { added: rotated.added, automatic: true } });
        }
      : undefined,
    onChange: (ring) => {
      keyring = ring;
      nextChange = nextChangeAt(ring.manifest.keys, clock.now());
      for (const listener of listeners) listener(ring);
      recordMetrics(ring);
      const now = clock.now();
      logger.info(
        { keys: ring.manifest.keys.map((e) => ({ kid: e.kid, alg: e.alg, state: keyState(e, now) })) },
        'keyring reloaded; new key set in use',
      );
    },
    onError: (err) => logger.error({ err: { message: err.message } }, 'keyring not reloaded: keeping the last good key set'),
  });

  return {
    /** The key set in use. */
    current: (): Keyring => keyring,
    /** The next scheduled state change of any key (the JWKS is never cached past it). */
    nextChange: (): Date | undefined => nextChange,
    /** Whether a token signed by `kid` may still be accepted, by the manifest on disk right now. */
    keyUsable: (kid: string | undefined) => probe.keyUsable(kid),
    /** Algorithms without an active signing key right now (readiness). */
    missingSigningAlgs: (): SigningAlg[] => SIGNING_ALGS.filter((alg) => !signingKey(keyring.manifest.keys, alg, clock.now())),
    /** Why the keyring on disk was last refused, while it still is. */
    problem: () => watcher.problem(),
    /** Re-read the keyring now (SIGHUP, the admin API after a change). */
    reload: () => watcher.reload(),
    onChange(listener: (ring: Keyring) => void): void {
      listeners.push(listener);
    },
    stop: () => watcher.stop(),
  };
}

export type KeyRuntime = Awaited<ReturnType<typeof startKeyRuntime>>;
