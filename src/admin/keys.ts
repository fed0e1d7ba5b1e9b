import type { Config } from '../config/schema.js';
import { notFound } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { pruneKeys, revokeKey, rotateKeys } from '../keys/keyring-ops.js';
import { readKeyring, type Manifest } from '../keys/keyring-files.js';
import { rotationTiming } from '../keys/key-runtime.js';
import { keyState, nextChangeAt, type KeyState } from '../keys/schedule.js';
import type { AuditLog } from '../observability/audit.js';
import type { ResourceRepository } from '../clients/records.js';

export interface KeyView {
  kid: string;
  alg: string;
  use: 'sig';
  state: KeyState;
  published_at: string;
  activates_at: string;
  retires_at: string | null;
  removed_at: string | null;
}

export interface KeyDeps {
  config: Readonly<Config>;
  resources: ResourceRepository;
  audit: AuditLog;
  clock: Clock;
}

export function keyViews(manifest: Manifest, now: Date): KeyView[] {
  return manifest.keys.map((e) => ({ kid: e.kid, alg: e.alg, use: e.use, state: keyState(e, now), published_at: e.published_at, activates_at: e.activates_at, retires_at: e.retires_at, removed_at: e.removed_at }));
}

async function manifestOf(dir: string): Promise<Manifest> {
  const keyring = await readKeyring(dir);
  if (!keyring) throw notFound(`no keyring in ${dir} yet; it is created when the server first starts`);
  return keyring.manifest;
}

export async function listSigningKeys(deps: Pick<KeyDeps, 'config' | 'clock'>): Promise<{ keys: KeyView[]; next_change_at: string | null }> {
  const manifest = await manifestOf(deps.config.keysDir);
  const now = deps.clock.now();
  return { keys: keyViews(manifest, now), next_change_at: nextChangeAt(manifest.keys, now)?.toISOString() ?? null };
}

export async function rotateSigningKeys(deps: KeyDeps, options: { now: boolean }): Promise<{ added: KeyView[]; keys: KeyView[] }> {
  const timing = await rotationTiming(deps, options.now);
  const result = await rotateKeys(deps.config.keysDir, deps.clock, timing);
  const views = keyViews(result.after, deps.clock.now());
  const added = views.filter((v) => result.added.includes(v.kid));
  await deps.audit.record({ type: 'keys.rotated', detail: { added: added.map((k) => ({ kid: k.kid, alg: k.alg, activates_at: k.activates_at })), immediate: options.now } });
  return { added, keys: views };
}

export async function revokeSigningKey(deps: KeyDeps, kid: string): Promise<{ revoked: string; replacement: string | null; keys: KeyView[] }> {
  const result = await revokeKey(deps.config.keysDir, kid, deps.clock);
  await deps.audit.record({ type: 'keys.revoked', detail: { kid, replacement: result.replacement ?? null } });
  return { revoked: kid, replacement: result.replacement ?? null, keys: keyViews(result.after, deps.clock.now()) };
}

export async function pruneSigningKeys(deps: KeyDeps): Promise<{ pruned: string[] }> {
  const result = await pruneKeys(deps.config.keysDir, deps.clock);
  if (result.pruned.length > 0) await deps.audit.record({ type: 'keys.pruned', detail: { kids: result.pruned } });
  return { pruned: result.pruned };
}

