import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { freePort, runProcess, startProcess, waitForStatus } from '../helpers/processes.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { installedPackages, installShopApi, installVerifierAlone, VERIFIER_PACKAGE_DIR, verifierPackageFiles } from '../helpers/verifier-package.ts';

/**
 * The verifier as its own package, `@gatehouse/verifier` (packages/verifier): what `npm pack`
 * publishes, what installing the tarball brings in (jose, nothing of Gatehouse), and the package at
 * work outside the repository — in plain Node, and as examples/shop-api — against a Gatehouse server
 * process, with tokens from its token endpoint.
 */
// A hang guard, not a speed check: a server, three CLI runs, two packs and installs and a tsc run on a
// shared 2-core machine.
t.setTimeout(300_000);

const SHOP = 'https://shop.example.com';
/** What a resource server must never pull in: Gatehouse itself and its server-side dependencies. */
const GATEHOUSE_ONLY = /^(gatehouse|oidc-provider|prisma|@prisma\/.*|@libsql\/.*|libsql|pg|@node-rs\/argon2|nodemailer|fastify-plugin|@fastify\/cookie|prom-client)$/;

type Manifest = {
  name: string;
  version: string;
  type?: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const readManifest = async (dir: string) => JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;

t.test('npm pack publishes the compiled JavaScript, its types, README, LICENSE and package.json only', async (t) => {
  const files = await verifierPackageFiles();
  t.same(
    files.filter((f) => !/^dist\/[a-z-]+\.(js|d\.ts)$/.test(f)),
    ['LICENSE', 'README.md', 'package.json'],
    'no sources, maps or build configuration',
  );
  for (const entry of ['core', 'fastify']) {
    t.ok(files.includes(`dist/${entry}.js`) && files.includes(`dist/${entry}.d.ts`), `dist/${entry}.js and its types`);
  }
  for (const js of files.filter((f) => f.endsWith('.js'))) t.ok(files.includes(js.replace(/\.js$/, '.d.ts')), `${js} has its .d.ts`);

  const pkg = await readManifest(VERIFIER_PACKAGE_DIR);
  t.equal(pkg.name, '@gatehouse/verifier');
  t.equal(pkg.version, (await readManifest(packageRoot())).version, "the main package's version");
  t.equal(pkg.type, 'module');
  t.same(Object.keys(pkg.dependencies ?? {}), ['jose'], 'jose is the only dependency');
  t.same(pkg.peerDependencies, { fastify: '^5.0.0' });
  t.same(pkg.peerDependenciesMeta, { fastify: { optional: true } }, 'fastify is optional: the application brings its own');
  t.same(Object.keys(pkg.exports ?? {}), ['.', './fastify', './package.json']);
});

t.test('gatehouse/verifier, the main package\'s export, still offers everything both entry points do', async (t) => {
  const script = `
    const main = await import('gatehouse/verifier');
    const core = await import(${JSON.stringify(join(VERIFIER_PACKAGE_DIR, 'dist', 'core.js'))});
    const plugin = await import(${JSON.stringify(join(VERIFIER_PACKAGE_DIR, 'dist', 'fastify.js'))});
    console.log(JSON.stringify({ main: Object.keys(main).sort(), parts: [...Object.keys(core), ...Object.keys(plugin)].sort() }));`;
  const r = await runProcess('--input-type=module', ['-e', script], {}, packageRoot());
  t.equal(r.code, 0, r.stderr);
  const { main, parts } = JSON.parse(r.stdout) as { main: string[]; parts: string[] };
  t.ok(main.includes('createVerifier') && main.includes('gatehouseAuth') && main.includes('requireScope'));
  t.same(main, parts);
});

t.test('installed from the tarball, against a Gatehouse server process', async (t) => {
  const gatehouse = await gatehouseDeployment(t, 'sqlite');
  const server = await gatehouse.start();
  const cli = async (args: string[]) => {
    const r = await gatehouse.cli(args);
    if (r.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  // The README's set-up: the shop's API, and a backend client that may call it.
  await cli(['resources', 'create', '--audience', SHOP, '--scope', 'payments:write orders:read']);
  const checkout = JSON.parse(await cli(['clients', 'create', '--name', 'checkout', '--grant', 'client_credentials', '--resource', SHOP, '--json'])) as {
    client_id: string;
    client_secret: string;
  };
  const token = async (scope: string) => {
    const res = await postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope }, basic(checkout.client_id, checkout.client_secret));
    t.equal(res.status, 200, `a ${scope} token`);
    return String(res.json.access_token);
  };
  const paymentsToken = await token('payments:write');
  const ordersToken = await token('orders:read');

  t.test('alone: the package and jose, nothing else; plain Node verifies a real token', async (t) => {
    const { dir } = await installVerifierAlone(t);
    t.same([...(await installedPackages(dir))].sort(), ['@gatehouse/verifier', 'jose'], 'no fastify (an optional peer), nothing of Gatehouse');
    const installed = await readManifest(join(dir, 'node_modules', '@gatehouse', 'verifier'));
    t.same(Object.keys(installed.dependencies ?? {}), ['jose']);

    // Both entry points load with jose alone: the plugin never imports fastify at run time.
    const loaded = await runProcess('--input-type=module', ['-e', "const p = await import('@gatehouse/verifier/fastify'); console.log(typeof p.gatehouseAuth)"], {}, dir);
    t.same([loaded.code, loaded.stdout.trim()], [0, 'function'], loaded.stderr);

    await writeFile(
      join(dir, 'check.js'),
      `import { createVerifier, isVerifierError } from '@gatehouse/verifier';
       const verifier = createVerifier({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
       try {
         const claims = await verifier.verify('Bearer ' + process.env.TOKEN, ['payments:write']);
         console.log(JSON.stringify({ client_id: claims.client_id, scope: claims.scope }));
       } catch (err) {
         if (!isVerifierError(err)) throw err;
         console.log(JSON.stringify({ status: err.status, code: err.code }));
       }`,
    );
    const check = async (env: Record<string, string>) => {
      const r = await runProcess(join(dir, 'check.js'), [], { ISSUER: server.url, AUDIENCE: SHOP, ...env }, dir);
      t.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    t.same(await check({ TOKEN: paymentsToken }), { client_id: checkout.client_id, scope: 'payments:write' }, 'verified');
    t.same(await check({ TOKEN: ordersToken }), { status: 403, code: 'ERR_INSUFFICIENT_SCOPE' });
    t.same(await check({ TOKEN: paymentsToken, AUDIENCE: 'https://other.example.com' }), { status: 401, code: 'ERR_TOKEN_AUDIENCE' });
    t.same(await check({ TOKEN: `${paymentsToken.slice(0, -4)}AAAA` }), { status: 401, code: 'ERR_TOKEN_SIGNATURE' });
  });

  t.test('examples/shop-api: its package.json with the tarball; public, token and scope routes', async (t) => {
    const shopApi = await installShopApi(t);
    const installed = await installedPackages(shopApi.dir);
    for (const name of ['@gatehouse/verifier', 'jose', 'fastify']) t.ok(installed.has(name), `${name} installed`);
    t.same([...installed].filter((name) => GATEHOUSE_ONLY.test(name)), [], 'nothing of Gatehouse (fastify only because the example asks for it)');

    // A TypeScript service sees the types of both entry points, and the plugin's `request.auth`.
    await writeFile(
      join(shopApi.dir, 'typed.ts'),
      `import Fastify from 'fastify';
       import { createVerifier, isVerifierError, type AccessTokenClaims } from '@gatehouse/verifier';
       import { gatehouseAuth, requireScope } from '@gatehouse/verifier/fastify';
       const verifier = createVerifier({ issuer: 'https://id.example.com', audience: '${SHOP}' });
       const app = Fastify();
       await app.register(gatehouseAuth, { verifier });
       app.get('/me', { onRequest: requireScope('orders:read') }, async (request) => {
         const claims: AccessTokenClaims | null = request.auth;
         return { sub: claims?.sub, shared: app.gatehouseVerifier === verifier };
       });
       export const statusOf = (err: unknown): number | undefined => (isVerifierError(err) ? err.status : undefined);`,
    );
    const tsc = await runProcess(
      join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc'),
      ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', join(packageRoot(), 'node_modules', '@types'), '--types', 'node', 'typed.ts'],
      {},
      shopApi.dir,
    );
    t.equal(tsc.code, 0, tsc.code === 0 ? 'tsc accepts it, the installed .d.ts files included' : tsc.stdout + tsc.stderr);

    const port = await freePort();
    const shop = `http://127.0.0.1:${port}`;
    // PORT is Gatehouse's port: the example reads SHOP_PORT, so both can run from one shell.
    const env = { GATEHOUSE_ISSUER: server.url, SHOP_AUDIENCE: SHOP, SHOP_PORT: String(port), PORT: String(server.port), LOG_LEVEL: 'warn' };
    const service = startProcess(t, shopApi.serverJs, [], env, shopApi.dir);
    await Promise.race([
      waitForStatus(`${shop}/pool`, 200),
      service.exited.then((code) => {
        throw new Error(`the shop API exited (${code}) before it was ready:\n${service.output()}`);
      }),
    ]);
    const call = async (method: string, path: string, authorization?: string) => {
      const res = await fetch(`${shop}${path}`, {
        method,
        headers: { ...(authorization ? { authorization } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? JSON.stringify({ amount: 1200, currency: 'EUR' }) : undefined,
      });
      return { status: res.status, challenge: res.headers.get('www-authenticate'), json: (await res.json()) as Record<string, unknown> };
    };

    const pool = await call('GET', '/pool');
    t.equal(pool.status, 200, 'GET /pool without a token');
    t.equal(pool.challenge, null);

    for (const [method, path] of [['GET', '/profile'], ['POST', '/payments']] as const) {
      const none = await call(method, path);
      t.equal(none.status, 401, `${method} ${path} without a token`);
      t.equal(none.challenge, 'Bearer realm="shop"');
      t.equal(none.json.code, 'ERR_TOKEN_MISSING');
      for (const [bad, code] of [
        ['not-a-jwt', 'ERR_TOKEN_MALFORMED'],
        [`${paymentsToken.slice(0, -4)}AAAA`, 'ERR_TOKEN_SIGNATURE'],
      ]) {
        const refused = await call(method, path, `Bearer ${bad}`);
        t.equal(refused.status, 401, `${method} ${path} with a bad token (${code})`);
        t.match(refused.challenge, /^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/);
        t.equal(refused.json.code, code);
      }
    }

    const profile = await call('GET', '/profile', `Bearer ${ordersToken}`);
    t.equal(profile.status, 200, 'GET /profile with a real client-credentials token');
    t.same(profile.json, { sub: checkout.client_id, client_id: checkout.client_id, scope: 'orders:read' });

    const lacking = await call('POST', '/payments', `Bearer ${ordersToken}`);
    t.equal(lacking.status, 403, 'POST /payments without payments:write');
    t.equal(lacking.challenge, 'Bearer realm="shop", error="insufficient_scope", error_description="The access token lacks a required scope", scope="payments:write"');
    t.equal(lacking.json.code, 'ERR_INSUFFICIENT_SCOPE');

    const paid = await call('POST', '/payments', `Bearer ${paymentsToken}`);
    t.equal(paid.status, 201, 'POST /payments with payments:write');
    t.match(paid.json, { amount: 1200, currency: 'EUR', status: 'accepted', by: checkout.client_id });

    service.child.kill('SIGTERM');
    t.equal(await service.exited, 0, 'stops cleanly');
    t.notMatch(service.output(), /eyJ[A-Za-z0-9_-]{20,}/, 'no token in the service logs');
  });
});
