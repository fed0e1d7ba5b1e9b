import t from 'tap';
import { readAuthorization, readBearerHeader } from '../../../src/verifier/authorization-header.ts';
import { hasScope, scopesOf } from '../../../src/verifier/claims.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

t.test('Authorization header or raw token (RFC 6750 §2.1)', async (t) => {
  const cases: [unknown, ReturnType<typeof readAuthorization>][] = [
    [`Bearer ${JWT}`, { kind: 'token', token: JWT }],
    [`bearer ${JWT}`, { kind: 'token', token: JWT }],
    [`BEARER  ${JWT} `, { kind: 'token', token: JWT }],
    [JWT, { kind: 'token', token: JWT }],
    ['Bearer abc+/=', { kind: 'token', token: 'abc+/=' }],
    [undefined, { kind: 'missing' }],
    [null, { kind: 'missing' }],
    ['', { kind: 'missing' }],
    ['Bearer', { kind: 'missing' }],
    ['Bearer   ', { kind: 'missing' }],
    ['Basic dXNlcjpwYXNz', { kind: 'missing' }],
    [`DPoP ${JWT}`, { kind: 'missing' }],
    [`Bearer ${JWT} extra`, { kind: 'malformed' }],
    ['Bearer a=b', { kind: 'malformed' }],
    ['Bearer "quoted"', { kind: 'malformed' }],
    [` ${JWT}`, { kind: 'malformed' }],
    [['Bearer a', 'Bearer b'], { kind: 'malformed' }],
    [42, { kind: 'malformed' }],
  ];
  for (const [input, expected] of cases) t.same(readAuthorization(input), expected, JSON.stringify(input));
});

t.test('a header only (the admin API, /metrics): the same, except that a bare token is malformed', async (t) => {
  t.same(readBearerHeader(JWT), { kind: 'malformed' });
  t.same(readBearerHeader('abc'), { kind: 'malformed' });
  t.same(readBearerHeader(`bEaReR ${JWT}`), { kind: 'token', token: JWT });
  t.same(readBearerHeader('Bearer'), { kind: 'missing' });
  t.same(readBearerHeader(undefined), { kind: 'missing' });
  t.same(readBearerHeader(`Bearer ${JWT} extra`), { kind: 'malformed' });
});

t.test('scopes are whole words of a space-separated list', async (t) => {
  t.ok(hasScope('a b c', 'a'));
  t.ok(hasScope('a b c', 'b'));
  t.ok(hasScope('a b c', 'c'));
  t.ok(hasScope('payments:write', 'payments:write'));
  t.notOk(hasScope('payments:write', 'payments'));
  t.notOk(hasScope('payments:writer', 'payments:write'));
  t.notOk(hasScope('xpayments:write', 'payments:write'));
  t.ok(hasScope('payments payments:write', 'payments:write'), 'a prefix match earlier in the list does not hide a later exact one');
  t.notOk(hasScope('', 'a'));
  t.notOk(hasScope(undefined, 'a'));
  t.notOk(hasScope('a b', ''), 'an empty scope is never granted (and does not loop)');
  t.same(scopesOf({ scope: 'a  b' }), ['a', 'b']);
  t.same(scopesOf({}), []);
});
