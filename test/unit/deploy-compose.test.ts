import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.ts';
import { ConfigError } from '../../src/errors.ts';
import { ipInCidr } from '../../src/guard/ip.ts';
import { packageRoot } from '../../src/lib/package-root.ts';

/**
 * deploy/compose.yaml (several instances behind a TLS proxy) keeps the promises a scaled-out
 * Gatehouse depends on: one keyring, one database, production settings Gatehouse itself accepts, the
 * proxy as the only trusted hop, and no secret in the repository. `docker-compose config` checks
 * the file's syntax in .ci/run; this test checks its meaning, without Docker.
 */
const ROOT = packageRoot();
const DEPLOY = join(ROOT, 'deploy');

type Service = {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  user?: string;
};
type Compose = {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config: { subnet: string }[] } }>;
  volumes: Record<string, unknown>;
};

/** The variables in an env file (KEY=value lines; comments and blank lines skipped). */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default} (unset or empty), ${VAR:?message} (required). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const set = env[name] !== undefined && env[name] !== '';
    if (op === ':?' && !set) throw new Error(`${name}: ${arg}`);
    return set ? env[name]! : op === ':-' ? arg! : '';
  });
}

function interpolateAll(env: Record<string, string>, vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), vars)]));
}

const text = await readFile(join(DEPLOY, 'compose.yaml'), 'utf8');
// merge: the services share their settings through YAML anchors and `<<:` merge keys, as compose reads them.
const compose = parse(text, { merge: true }) as Compose;
const example = envFile(await readFile(join(DEPLOY, '.env.example'), 'utf8'));
// What an operator's deploy/.env holds after following .env.example's instructions.
const operatorEnv = { ...example, POSTGRES_PASSWORD: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6', SECRETS: 'f'.repeat(64) };

const services = Object.entries(compose.services);
const usesImage = ([, s]: [string, Service]) => s.build?.context === '..' && s.build.dockerfile === 'Dockerfile';
// The servers: Gatehouse's image with its own command (the one-shot migrate service has another).
const servers = services.filter((e) => usesImage(e) && e[1].command === undefined);
const [migrateName, migrate] = services.find((e) => usesImage(e) && e[1].command !== undefined) ?? [];
const [, proxy] = services.find(([, s]) => s.image?.startsWith('caddy:')) ?? [];
const [postgresName, postgres] = services.find(([, s]) => s.image?.startsWith('postgres:')) ?? [];

t.test('two or more Gatehouse instances built from the repository, a migrate step, PostgreSQL and a proxy', async (t) => {
  t.ok(servers.length >= 2, `instances: ${servers.map(([n]) => n).join(', ')}`);
  t.ok(migrate && proxy && postgres, 'migrate, proxy and postgres services exist');
  t.same(migrate!.command, ['node', 'dist/cli/main.js', 'migrate']);
  t.same(migrate!.depends_on, { [postgresName!]: { condition: 'service_healthy' } }, 'migrate waits for the database');
  t.ok(postgres!.healthcheck?.test?.join(' ').includes('pg_isready'), 'postgres has a healthcheck');
  t.ok(postgres!.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data') && compose.volumes[v.split(':')[0]!] !== undefined), 'postgres keeps its data in a named volume');
});

t.test('every instance: one keyring volume, one database, production settings', async (t) => {
  const keyMounts = servers.map(([name, s]) => {
    const keysDir = s.environment?.KEYS_DIR;
    t.ok(keysDir, `${name} sets KEYS_DIR`);
    const mount = s.volumes?.find((v) => v.split(':')[1] === keysDir);
    t.ok(mount, `${name} mounts a volume at KEYS_DIR`);
    return mount?.split(':')[0];
  });
  t.equal(new Set(keyMounts).size, 1, 'every instance mounts the same keyring');
  t.ok(compose.volumes[keyMounts[0]!] !== undefined, 'the keyring is a named volume');
  t.equal(new Set(servers.map(([, s]) => s.environment?.DATABASE_URL)).size, 1, 'every instance uses the same DATABASE_URL');
  const dataMounts = servers.map(([, s]) => s.volumes?.find((v) => v.endsWith(':/var/lib/gatehouse/data'))?.split(':')[0]);
  t.equal(new Set(dataMounts).size, servers.length, 'each instance has its own data volume (its mail outbox)');

  for (const [name, s] of servers) {
    const env = interpolateAll(s.environment ?? {}, operatorEnv);
    t.equal(env.NODE_ENV, 'production', `${name}: NODE_ENV`);
    t.match(env.ISSUER, /^https:\/\//, `${name}: ISSUER is https`);
    t.equal(new URL(env.DATABASE_URL!).hostname, postgresName, `${name}: the database is the postgres service`);
    t.equal(s.user, undefined, `${name}: runs as the image's user`);
    // Gatehouse's own configuration check, as the container would run it.
    const config = loadConfig(env, '/app');
    t.equal(config.nodeEnv, 'production');
    t.equal(config.databaseKind, 'postgres');
    t.equal(config.issuer, `https://${example.GATEHOUSE_HOST}`, 'the default port is not part of the issuer');
  }
});

t.test('the production checks bite: without secrets or a mail transport, nothing starts', async (t) => {
  t.equal(example.SECRETS, '', '.env.example holds no SECRETS');
  t.equal(example.POSTGRES_PASSWORD, '', '.env.example holds no database password');
  const env = servers[0]![1].environment!;
  t.throws(() => interpolateAll(env, example), /SECRETS|POSTGRES_PASSWORD/, 'compose refuses .env.example unfilled');
  let issues: string[] = [];
  try {
    loadConfig(interpolateAll(env, { ...operatorEnv, MAIL_TRANSPORT: '' }), '/app');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues = err.issues.map((i) => i.variable);
  }
  t.same(issues, ['SMTP_URL'], 'no SMTP_URL and no MAIL_TRANSPORT=outbox: refused');
  t.ok((await readFile(join(ROOT, '.gitignore'), 'utf8')).split('\n').includes('/deploy/.env'), 'deploy/.env is git-ignored');
  t.ok((await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n').includes('deploy'), 'deploy/ (and its .env) stays out of the image build context');
});

t.test('no secret is written in the compose file: each comes from the operator\'s .env', async (t) => {
  const secretish = /SECRET|PASSWORD|TOKEN|SMTP_URL/;
  let checked = 0;
  for (const [name, s] of services) {
    for (const [key, raw] of Object.entries(s.environment ?? {})) {
      const value = String(raw);
      if (key === 'DATABASE_URL') {
        t.match(new URL(value.replace(/\$\{[^}]*\}/g, 'X')).password, /^X$/, `${name}: the database password is interpolated`);
        t.match(value, /:\$\{POSTGRES_PASSWORD:\?[^}]*\}@/, `${name}: DATABASE_URL takes the required POSTGRES_PASSWORD`);
        checked++;
      } else if (secretish.test(key)) {
        // Only ${VAR}, ${VAR:?message} or ${VAR:-} (empty default): no literal, no default value.
        t.match(value, /^\$\{[A-Z_]+(:\?[^}]*|:-)?\}$/, `${name}: ${key} is interpolated, with no default`);
        checked++;
      }
    }
  }
  t.ok(checked >= 3 * (servers.length + 1), `checked ${checked} secret values`);
  t.notMatch(text, /-----BEGIN|PRIVATE KEY/, 'no key material');
});

t.test('the proxy terminates TLS on 443, balances over every instance, and is the one trusted hop', async (t) => {
  t.ok(proxy!.ports?.some((p) => /^(\$\{[^}]*\}|\d+):443$/.test(p)), 'the proxy publishes container port 443');
  for (const [name, s] of servers) t.same(s.ports, undefined, `${name} publishes no port: it is reached through the proxy`);

  const caddyfile = await readFile(join(DEPLOY, 'Caddyfile'), 'utf8');
  t.match(caddyfile, /^\s*tls internal$/m, 'TLS from Caddy\'s local CA by default');
  const upstreams = /^\s*reverse_proxy\s+([^{\n]+)/m.exec(caddyfile)?.[1]!.trim().split(/\s+/) ?? [];
  t.same(upstreams.sort(), servers.map(([n]) => `${n}:3000`).sort(), 'the proxy balances over exactly the instances');
  t.match(caddyfile, /health_uri \/readyz/, 'an instance that is not ready gets no traffic');
  t.ok(proxy!.volumes?.includes('./Caddyfile:/etc/caddy/Caddyfile:ro'), 'the proxy reads deploy/Caddyfile');

  const networks = proxy!.networks as Record<string, { ipv4_address?: string }>;
  const [network, settings] = Object.entries(networks)[0]!;
  const proxyIp = interpolate(settings.ipv4_address!, operatorEnv);
  const subnet = interpolate(compose.networks[network]!.ipam!.config[0]!.subnet, operatorEnv);
  t.ok(ipInCidr(proxyIp, subnet), `the proxy's address ${proxyIp} is in ${subnet}`);
  for (const [name, s] of servers) {
    t.ok((s.networks as string[]).includes(network), `${name} is on the proxy's network`);
    const config = loadConfig(interpolateAll(s.environment!, operatorEnv), '/app');
    t.same(config.trustProxy, [proxyIp], `${name} trusts X-Forwarded-* from the proxy alone`);
  }
});

t.test('instances start after the migration and report ready; the proxy waits for them', async (t) => {
  for (const [name, s] of servers) {
    t.match(s.healthcheck?.test?.join(' '), /http:\/\/127\.0\.0\.1:3000\/readyz/, `${name} checks /readyz`);
    t.same(s.depends_on, { [postgresName!]: { condition: 'service_healthy' }, [migrateName!]: { condition: 'service_completed_successfully' } }, `${name} waits for the database and the migration`);
    t.same(proxy!.depends_on?.[name], { condition: 'service_healthy' }, `the proxy waits for ${name}`);
  }
});

t.test('the image runs Gatehouse as a non-root user, with node receiving the signals', async (t) => {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.split(/^FROM /m).at(-1)!;
  const users = [...runtime.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  t.ok(users.length > 0, 'the runtime stage sets USER');
  t.notOk(['root', '0'].includes(users.at(-1)!.split(':')[0]!), `last USER is ${users.at(-1)}`);
  t.match(runtime, /^CMD \["node", ("--[a-z-]+(=\d+)?", )*"dist\/main\.js"\]$/m, 'node is PID 1 (exec form, no npm or shell between)');
  t.match(runtime, /^ENV [^]*PORT=3000/m, 'the image listens on 3000, where the proxy and the healthchecks look');
});
