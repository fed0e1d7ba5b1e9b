import * as jose from 'jose';
import t, { type Test } from 'tap';
import { createVerifier, VerifierError, type VerifierErrorCode } from '../../src/verifier/index.ts';
import { OTHER_API, shopScenario, SHOP_API, signedByIssuerKey, tamper } from '../helpers/access-tokens.ts';

/**
 * `verify()` against a running Gatehouse: real tokens from its token endpoint, bad ones derived from
 * them, keys found through its discovery document.
 */

const rejects = async (t: Test, promise: Promise<unknown>, code: VerifierErrorCode, status: number, wwwAuthenticate?: string) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof VerifierError, `rejected with a VerifierError (got ${String(err)})`);
  t.match(err, { code, status }, code);
  if (wwwAuthenticate !== undefined) t.equal((err as VerifierError).wwwAuthenticate, wwwAuthenticate);
};

const invalidToken = (description: string) => `Bearer error="invalid_token", error_description="${description}"`;

t.test('verify(): real Gatehouse tokens in, typed claims or coded errors out', async (t) => {
  const { gh, withScope, withoutScope, bad } = await shopScenario(t);
  const verifier = createVerifier({ issuer: gh.issuer, audience: SHOP_API });

  t.test('a valid token, as a header or raw', async (t) => {
    const claims = await verifier.verify(`Bearer ${withScope}`);
    const real = jose.decodeJwt(withScope);
    t.same(claims, real, 'the claims are the token’s');
    t.equal(claims.iss, gh.issuer);
    t.equal(claims.aud, SHOP_API);
    t.equal(claims.scope, 'payments:write orders:read');
    t.equal(claims.client_id, claims.sub, 'client credentials: the client is the subject');
    t.same(await verifier.verify(withScope), real, 'a raw token');
    t.same(await verifier.verify(`bearer   ${withScope}`), real, 'the scheme is case-insensitive, several spaces allowed');
  });

  t.test('no token: 401 with a bare challenge (RFC 6750 §3: no error code)', async (t) => {
    for (const input of [undefined, null, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `DPoP ${withScope}`]) {
      await rejects(t, verifier.verify(input), 'ERR_TOKEN_MISSING', 401, 'Bearer');
    }
  });

  t.test('malformed input: 401 invalid_token', async (t) => {
    const text = invalidToken('The access token is malformed');
    for (const input of ['Bearer a b', 'Bearer "x"', 'not-a-jwt', 'a.b.c', `${withScope}.extra.parts`, withScope.split('.').slice(0, 2).join('.')]) {
      await rejects(t, verifier.verify(input), 'ERR_TOKEN_MALFORMED', 401, text);
    }
  });

  t.test('every bad token is refused with its own code', async (t) => {
    const cases: [keyof typeof bad, VerifierErrorCode, string][] = [
      ['tampered', 'ERR_TOKEN_SIGNATURE', 'The access token signature is invalid'],
      ['unknownKey', 'ERR_TOKEN_SIGNATURE', 'The access token signature is invalid'],
      ['expired', 'ERR_TOKEN_EXPIRED', 'The access token expired'],
      ['wrongAudience', 'ERR_TOKEN_AUDIENCE', 'The access token is not meant for this API'],
      ['wrongIssuer', 'ERR_TOKEN_ISSUER', 'The access token comes from another issuer'],
      ['idToken', 'ERR_TOKEN_ALGORITHM', 'The access token uses a signing algorithm this API does not accept'],
      ['algNone', 'ERR_TOKEN_ALGORITHM', 'The access token uses a signing algorithm this API does not accept'],
      ['hs256WithPublicKey', 'ERR_TOKEN_ALGORITHM', 'The access token uses a signing algorithm this API does not accept'],
    ];
    for (const [name, code, description] of cases) {
      t.comment(name);
      await rejects(t, verifier.verify(`Bearer ${bad[name]}`), code, 401, invalidToken(description));
    }
  });

  t.test('an ID token is refused for its type even where its RS256 signature is accepted', async (t) => {
    // Accepts RS256 and the ID token's audience (its client): only the typ check is left to refuse it.
    const lenient = createVerifier({ issuer: gh.issuer, audience: [SHOP_API, jose.decodeJwt(bad.idToken).aud as string], algorithms: ['ES256', 'RS256'] });
    await rejects(t, lenient.verify(bad.idToken), 'ERR_TOKEN_TYPE', 401, invalidToken('The token is not an access token'));
    // The same claims, signed by the same RS256 key, under typ at+jwt (plus the claims RFC 9068 requires)
    // pass that verifier: the typ check is what refuses the ID token.
    const idClaims = { ...jose.decodeJwt(bad.idToken), client_id: 'web', jti: 'j1' };
    t.ok(await lenient.verify(await signedByIssuerKey(gh, idClaims, {}, 'RS256')));
    await rejects(t, lenient.verify(await signedByIssuerKey(gh, idClaims, { typ: 'JWT' }, 'RS256')), 'ERR_TOKEN_TYPE', 401);
  });

  t.test('expiry and clock tolerance, with an injected clock (no sleeping)', async (t) => {
    const { exp } = jose.decodeJwt(withScope) as { exp: number };
    // These clocks are minutes away from the issuer's, past its revocation feed's own expiry: the feed
    // is left out here (test/verifier/revocation.test.ts covers it).
    const at = (seconds: number) => createVerifier({ issuer: gh.issuer, audience: SHOP_API, revocation: false, clock: { now: () => new Date(seconds * 1000) } });
    await rejects(t, at(exp + 5).verify(withScope), 'ERR_TOKEN_EXPIRED', 401, invalidToken('The access token expired'));
    t.ok(await at(exp + 4).verify(withScope), 'default tolerance: 5 s past exp still verifies');
    t.ok(await at(exp - 1).verify(withScope));
    const strict = createVerifier({ issuer: gh.issuer, audience: SHOP_API, clockTolerance: 0, revocation: false, clock: { now: () => new Date(exp * 1000) } });
    await rejects(t, strict.verify(withScope), 'ERR_TOKEN_EXPIRED', 401);
  });

  t.test('claims RFC 9068 requires, and nbf', async (t) => {
    const claims = jose.decodeJwt(withScope);
    const signed = (changes: Record<string, unknown>) => signedByIssuerKey(gh, Object.fromEntries(Object.entries({ ...claims, ...changes }).filter(([, v]) => v !== undefined)));
    t.ok(await verifier.verify(await signed({})), 'the real claims re-signed with the real key verify (the helper is sound)');
    for (const missing of ['exp', 'sub', 'iat', 'jti', 'client_id']) {
      t.comment(`without ${missing}`);
      await rejects(t, verifier.verify(await signed({ [missing]: undefined })), 'ERR_TOKEN_MALFORMED', 401);
    }
    await rejects(t, verifier.verify(await signed({ scope: ['payments:write'] })), 'ERR_TOKEN_MALFORMED', 401, undefined);
    await rejects(t, verifier.verify(await signed({ iss: undefined })), 'ERR_TOKEN_MALFORMED', 401);
    await rejects(
      t,
      verifier.verify(await signed({ nbf: Math.floor(Date.now() / 1000) + 60 })),
      'ERR_TOKEN_NOT_YET_VALID',
      401,
      invalidToken('The access token is not valid yet'),
    );
    await rejects(t, verifier.verify(await signedByIssuerKey(gh, claims, { typ: 'JWT' })), 'ERR_TOKEN_TYPE', 401);
    t.ok(await verifier.verify(await signedByIssuerKey(gh, claims, { typ: 'application/at+jwt' })), 'RFC 9068 §2.1: application/at+jwt is the same type');
    await rejects(t, verifier.verify(await signedByIssuerKey(gh, claims, { crit: ['exp'], exp: 1 })), 'ERR_TOKEN_MALFORMED', 401);
  });

  t.test('scopes: 403 insufficient_scope naming what is needed', async (t) => {
    await rejects(
      t,
      verifier.verify(withoutScope, ['payments:write']),
      'ERR_INSUFFICIENT_SCOPE',
      403,
      'Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="payments:write"',
    );
    t.ok(await verifier.verify(withScope, ['payments:write']));
    t.ok(await verifier.verify(withScope, ['orders:read', 'payments:write']));
    t.ok(await verifier.verify(withoutScope, ['orders:read']));
    await rejects(t, verifier.verify(withScope, ['payments']), 'ERR_INSUFFICIENT_SCOPE', 403, undefined);
    await rejects(t, verifier.verify(tamper(withoutScope, { scope: 'payments:write' }), ['payments:write']), 'ERR_TOKEN_SIGNATURE', 401, undefined);

    const fixed = createVerifier({ issuer: gh.issuer, audience: SHOP_API, requiredScopes: 'orders:read payments:write', realm: 'shop' });
    t.ok(await fixed.verify(withScope));
    await rejects(
      t,
      fixed.verify(withoutScope, ['orders:read']),
      'ERR_INSUFFICIENT_SCOPE',
      403,
      'Bearer realm="shop", error="insufficient_scope", error_description="The access token lacks a required scope", scope="orders:read payments:write"',
    );
    await rejects(t, fixed.verify(undefined), 'ERR_TOKEN_MISSING', 401, 'Bearer realm="shop"');
    await t.rejects(verifier.verify(withoutScope, ['bad"scope']), TypeError, 'a scope that would break the header is a programming error');
    await t.rejects(verifier.verify(withScope, ['']), TypeError, 'so is an empty scope');
  });

  t.test('a verifier for the other API accepts the other token and refuses this one', async (t) => {
    const other = createVerifier({ issuer: gh.issuer, audience: OTHER_API });
    t.equal((await other.verify(bad.wrongAudience)).aud, OTHER_API);
    await rejects(t, other.verify(withScope), 'ERR_TOKEN_AUDIENCE', 401);
    const either = createVerifier({ issuer: gh.issuer, audience: [SHOP_API, OTHER_API] });
    t.ok(await either.verify(withScope));
    t.ok(await either.verify(bad.wrongAudience));
  });
});
