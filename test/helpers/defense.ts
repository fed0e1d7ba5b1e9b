import type { Test } from 'tap';
import type { Clock } from '../../src/lib/clock.ts';
import { buildTestApp, type TestApp } from './build-app.ts';
import { createTestDatabase } from './databases.ts';
import { createVerifiedUser, PASSWORD, registerClient } from './fixtures.ts';
import { seedKeyring } from './keys.ts';
import { relyingParty } from './relying-party.ts';
import { tempDir } from './temp-dir.ts';

export const REDIRECT = 'https://app.example.com/callback';

/**
 * Gatehouse instances sharing one database and keyring (PostgreSQL unless told otherwise), each with
 * its own port, the same web client, and a verified victim account. TRUST_PROXY=127.0.0.1 unless
 * `trustProxy: false`: the test plays the proxy and says who the client is with X-Forwarded-For.
 */
export async function defenseCluster(
  t: Test,
  options: { instances?: number; kind?: 'sqlite' | 'postgres'; env?: Record<string, string>; clock?: Clock; trustProxy?: boolean } = {},
) {
  const db = await createTestDatabase(t, options.kind ?? 'postgres');
  const keysDir = `${await tempDir(t)}/keys`;
  await seedKeyring(keysDir);
  const env = { ...(options.trustProxy === false ? {} : { TRUST_PROXY: '127.0.0.1' }), ...options.env };
  const apps: TestApp[] = [];
  for (let i = 0; i < (options.instances ?? 1); i++) {
    apps.push(await buildTestApp(t, { listen: true, databaseUrl: db.url, keysDir, env, ...(options.clock ? { clock: options.clock } : {}) }));
  }
  const first = apps[0]!;
  const client = await registerClient(first.services, { name: 'Shop', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token'] });
  const victim = await createVerifiedUser(first.services, 'victim@example.com', PASSWORD);
  const configs = await Promise.all(apps.map((app) => relyingParty(app, client)));
  const audit = (type: string, email?: string) => first.services.auditStore.query({ type, ...(email ? { email } : {}), limit: 10_000 });
  return { apps, first, client, victim, configs, audit };
}
