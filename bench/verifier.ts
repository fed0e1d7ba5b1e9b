/**
 * `npm run bench:verifier`: throughput of `verifier.verify()` against bare `jose.jwtVerify(token, key)`
 * with the key in hand — the same ES256 access token (shaped like Gatehouse's), the same process, one
 * core. verify() does more (header parsing, key lookup in the cached JWKS, typ/iss/aud/exp, RFC 9068
 * claims, a scope); the goal is to stay within 10 % of the bare call. A third line, jwtVerify with the
 * same checks, shows where the difference comes from.
 *
 * Fairness: one verification at a time (await in a loop, so the thread pool adds no parallelism), the
 * process pinned to CPU 0 with `taskset` when it exists, a warm-up, then ROUNDS rounds in which every
 * contender runs BATCH verifications back to back, in a rotating order. Short adjacent batches make
 * the comparison paired: a machine shared with other work slows both sides of a round alike.
 * Reported: each contender's median ops/s over the rounds, and the median of the per-round ratios
 * verify/bare (the figure to quote). verify() runs with the revocation feed on (the issuer advertises
 * one with BENCH_FEED_ENTRIES entries of each kind). DPoP is reported separately: verifyRequest() with
 * a bound token and a fresh proof, against the bare pair of signature checks (token and proof).
 * Writes JSON to bench/results/verifier-<time>.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { createVerifier } from '../src/verifier/index.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
const BATCH = Number(process.env.BENCH_BATCH ?? 250);
const root = fileURLToPath(new URL('..', import.meta.url));

// Pin to one core: re-run this script under `taskset -c 0` (Linux), once.
if (process.platform === 'linux' && !process.env.BENCH_PINNED) {
  const pinned = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  if (!pinned.error) process.exit(pinned.status ?? 1);
  process.stderr.write(`taskset unavailable (${pinned.error.message}); running unpinned\n`);
}

// A Gatehouse-shaped issuer on loopback: discovery + JWKS with the public key, and a revocation feed
// of FEED_ENTRIES entries of each kind (none matching the bench token), so verify() runs with the
// feed on, as by default against Gatehouse.
const FEED_ENTRIES = Number(process.env.BENCH_FEED_ENTRIES ?? 1000);
const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
const kid = 'bench-es256';
const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
const feedEntries = {
  subjects: Array.from({ length: FEED_ENTRIES }, (_, i) => ({ sub: `revoked-user-${i}`, not_before: Math.floor(Date.now() / 1000) })),
  grants: Array.from({ length: FEED_ENTRIES }, (_, i) => `revoked-grant-${i}`),
  tokens: Array.from({ length: FEED_ENTRIES }, (_, i) => `revoked-jti-${i}`),
};
const server = createServer((req, res) => {
  if (req.url === '/revocation-feed') {
    const iat = Math.floor(Date.now() / 1000);
    void new jose.SignJWT(feedEntries)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'revocation-feed+jwt' })
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 300)
      .sign(privateKey)
      .then((jws) => res.writeHead(200, { 'content-type': 'application/jwt' }).end(jws));
    return;
  }
  const body = req.url === '/jwks' ? { keys: [jwk] } : { issuer, jwks_uri: `${issuer}/jwks`, gatehouse_revocation_feed_uri: `${issuer}/revocation-feed` };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const audience = 'https://shop.example.com';

const now = Math.floor(Date.now() / 1000);
const token = await new jose.SignJWT({
  iss: issuer,
  sub: 'Oity7zQ_nlswSwt3DRfvZQ',
  aud: audience,
  iat: now,
  exp: now + 86400,
  jti: 'd8c5Be5aPS-rnjlLAf6b23G15pz7ULDIN0det93WtJK',
  client_id: 'Oity7zQ_nlswSwt3DRfvZQ',
  scope: 'payments:write orders:read',
})
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
  .sign(privateKey);
const header = `Bearer ${token}`;
const key = await jose.importJWK(jwk, 'ES256');
const verifier = createVerifier({ issuer, audience });
const sameChecks = { issuer, audience, typ: 'at+jwt', algorithms: ['ES256'], clockTolerance: 5 };

// DPoP: a token bound to the client's key, and a fresh proof per request (made before each batch,
// outside the timing: in production the client makes it). Compared with the bare pair of checks:
// the token's signature and the proof's.
const client = await jose.generateKeyPair('ES256');
const clientJwk = await jose.exportJWK(client.publicKey);
const boundToken = await new jose.SignJWT({
  iss: issuer, sub: 'Oity7zQ_nlswSwt3DRfvZQ', aud: audience, iat: now, exp: now + 86400, jti: 'bound-jti', client_id: 'Oity7zQ_nlswSwt3DRfvZQ', scope: 'payments:write',
  cnf: { jkt: await jose.calculateJwkThumbprint(clientJwk) },
})
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
  .sign(privateKey);
const ath = createHash('sha256').update(boundToken).digest('base64url');
const resourceUrl = 'https://shop.example.com/payments';
let proofs: string[] = [];
let next = 0;
const makeProofs = async (n: number) => {
  proofs = await Promise.all(
    Array.from({ length: n }, () =>
      new jose.SignJWT({ htm: 'POST', htu: resourceUrl, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: clientJwk })
        .sign(client.privateKey),
    ),
  );
  next = 0;
};
const dpopRequest = () => ({ method: 'POST', url: resourceUrl, headers: { authorization: `DPoP ${boundToken}`, dpop: proofs[next++]! } });

type Contender = { run: () => Promise<unknown>; prepare?: (n: number) => Promise<void> };
const contenders: Record<string, Contender> = {
  'verifier.verify(header, [scope])': { run: () => verifier.verify(header, ['payments:write']) },
  'jose.jwtVerify(token, key)': { run: () => jose.jwtVerify(token, key) },
  'jose.jwtVerify(token, key, same checks)': { run: () => jose.jwtVerify(token, key, sameChecks) },
  'verifier.verifyRequest(DPoP, [scope])': { run: () => verifier.verifyRequest(dpopRequest(), ['payments:write']), prepare: makeProofs },
  'jose.jwtVerify(token) + jwtVerify(proof)': {
    run: async () => {
      await jose.jwtVerify(boundToken, key);
      return jose.jwtVerify(proofs[next++]!, jose.EmbeddedJWK);
    },
    prepare: makeProofs,
  },
};
const names = Object.keys(contenders);

async function batch(c: Contender, n: number): Promise<number> {
  await c.prepare?.(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) await c.run();
  return n / ((performance.now() - start) / 1000);
}

for (const name of names) await batch(contenders[name]!, 2000); // warm-up (JIT, key import, JWKS fetch, first feed)
const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order so no contender always runs first (or right after another's garbage).
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length]!;
    samples[name]!.push(await batch(contenders[name]!, BATCH));
  }
}
verifier.close();
server.close();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const [verifyName, bareName, sameName, dpopName, dpopBareName] = names as [string, string, string, string, string];
const medians = Object.fromEntries(names.map((n) => [n, Math.round(median(samples[n]!))]));
const paired = (a: string, b: string) => Number(median(samples[a]!.map((x, i) => x / samples[b]![i]!)).toFixed(3));
const ratio = paired(verifyName, bareName);
const ratioSameChecks = paired(verifyName, sameName);
const ratioDpop = paired(dpopName, dpopBareName);

for (const n of names) {
  const xs = samples[n]!;
  process.stdout.write(`${n.padEnd(42)} ${String(medians[n]).padStart(7)} ops/s  (median of ${xs.length} batches of ${BATCH}; min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})\n`);
}
process.stdout.write(`ratio verify/bare = ${ratio}  (target ≥ 0.9; median of per-round ratios; revocation feed of ${FEED_ENTRIES} × 3 entries on)   verify/same-checks = ${ratioSameChecks}\n`);
process.stdout.write(`ratio verifyRequest(DPoP)/bare token+proof signatures = ${ratioDpop}  (reported, not a target)\n`);

const at = new Date().toISOString();
const result = {
  at,
  node: process.version,
  cpu: cpus()[0]?.model,
  cpus: cpus().length,
  pinned_to_cpu0: Boolean(process.env.BENCH_PINNED),
  rounds: ROUNDS,
  batch: BATCH,
  ops_per_s_median: medians,
  samples: Object.fromEntries(names.map((n) => [n, samples[n]!.map(Math.round)])),
  ratio_verify_to_bare: ratio,
  ratio_of_medians_verify_to_bare: Number((medians[verifyName]! / medians[bareName]!).toFixed(3)),
  ratio_verify_to_same_checks: ratioSameChecks,
  revocation_feed_entries_per_kind: FEED_ENTRIES,
  ratio_dpop_verify_request_to_bare_token_and_proof: ratioDpop,
};
const file = join(root, 'bench', 'results', `verifier-${at.replace(/[:.]/g, '-')}.json`);
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
if (ratio < 0.9) process.exitCode = 1;
