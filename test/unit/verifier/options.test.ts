import t from 'tap';
import { createVerifier, VerifierOptionsError, type VerifierOptions } from '../../../src/verifier/index.ts';
import { resolveOptions } from '../../../src/verifier/options.ts';

const base = { issuer: 'https://id.example.com', audience: 'https://api.example.com' };

const problems = (options: unknown): readonly string[] => {
  try {
    createVerifier(options as VerifierOptions);
  } catch (err) {
    if (err instanceof VerifierOptionsError) return err.problems;
    throw err;
  }
  return [];
};

t.test('defaults', async (t) => {
  const o = resolveOptions(base);
  t.match(o, { algorithms: ['ES256'], clockTolerance: 5, cacheMaxAge: 600_000, cooldownDuration: 30_000, staleIfError: 3_600_000, timeoutDuration: 5_000, realm: undefined, jwksUri: undefined });
  t.same(o.requiredScopes, []);
  t.ok(Object.isFrozen(o), 'frozen once validated');
  t.same(resolveOptions({ ...base, requiredScopes: ' a  b ' }).requiredScopes, ['a', 'b'], 'a space-separated string');
});

t.test('never none, never HS*, never an unknown algorithm', async (t) => {
  for (const alg of ['none', 'HS256', 'HS384', 'HS512', 'ES256K', 'RSA-OAEP', '']) {
    t.match(problems({ ...base, algorithms: ['ES256', alg] }), [new RegExp(`^algorithms: ${alg} is not accepted`)], alg || '(empty)');
  }
  t.same(problems({ ...base, algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'] }), []);
  t.match(problems({ ...base, algorithms: [] }), [/^algorithms: must list/]);
});

t.test('every problem is reported at once', async (t) => {
  const found = problems({
    issuer: 'ftp://id.example.com',
    audience: '',
    clockTolerance: -1,
    requiredScopes: ['ok', 'not"ok'],
    realm: 'a"b',
    jwksUri: 'not a url',
    cooldownDuration: -5,
    cacheMaxAge: Number.NaN,
    fetch: 'no',
    clock: {},
  });
  t.equal(found.length, 10, found.join('\n'));
  for (const name of ['issuer', 'audience', 'clockTolerance', 'requiredScopes', 'realm', 'jwksUri', 'cooldownDuration', 'cacheMaxAge', 'fetch', 'clock']) {
    t.ok(found.some((p) => p.startsWith(`${name}:`)), name);
  }
  t.match(problems(undefined), [/^issuer:/, /^audience:/], 'no options at all');
  t.match(problems({ ...base, issuer: 'https://id.example.com/?tenant=a' }), [/^issuer:/], 'an issuer with a query string');
  t.same(problems({ ...base, audience: ['https://a.example.com', 'https://b.example.com'] }), []);
});
