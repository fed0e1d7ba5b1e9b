import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { cli } from '../helpers/cli.ts';
import { createTestDatabase, DEFAULT_KIND } from '../helpers/databases.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { migrate } from '../../src/persistence/migrate.ts';

const PASSWORD = 'a kettle singing at dawn';

/** Each renders like an address of plain ASCII letters (or hides characters): refused with a reason. */
const REFUSED: [string, string, RegExp][] = [
  ['Cyrillic а in a Latin local part', '\u0430lice@example.com', /mixes alphabets/],
  ['Cyrillic е in a Latin domain', 'alice@\u0435xample.com', /domain mixes alphabets/],
  ['Greek ο in a Latin local part', 'b\u03bfb@example.com', /mixes alphabets/],
  ['a local part only of Cyrillic letters that look Latin', '\u0430\u0441\u0435@example.com', /imitate Latin/],
  ['a Cyrillic "apple" domain typed as punycode', 'alice@xn--80ak6aa92e.com', /domain is written in letters that imitate Latin/],
  ['a mixed-script domain typed as punycode', 'alice@xn--pple-43d.com', /domain mixes alphabets/],
  ['zero-width space', 'al\u200bice@example.com', /invisible/],
  ['zero-width joiner', 'ali\u200dce@example.com', /invisible/],
  ['soft hyphen', 'ali\u00adce@example.com', /invisible/],
  ['right-to-left override', 'ali\u202ece@example.com', /invisible/],
  ['Hangul filler', 'alice\u3164@example.com', /invisible/],
  ['variation selector', 'alice\ufe0f@example.com', /invisible/],
  ['no-break space', 'ali\u00a0ce@example.com', /invisible/],
  ['a NUL byte', 'alice\u0000@example.com', /invisible/],
];

/** Each is the same account as its plain form after NFKC and lower-casing. */
const SAME: [string, string, string][] = [
  ['fullwidth letters', '\uff41\uff4c\uff49\uff43\uff45@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d', 'alice@example.com'],
  ['the Kelvin sign', '\u212Aate@example.com', 'kate@example.com'],
  ['upper case', 'ALICE@EXAMPLE.COM', 'alice@example.com'],
  ['an internationalised domain, stored as punycode', 'user@B\u00fccher.de', 'user@xn--bcher-kva.de'],
];

// Every case is one signup from one address: lift the per-IP signup limit out of the way.
const env = { IP_SIGNUP_LIMIT: '1000' };

t.test('signup API: look-alike and invisible characters are refused with a clear 400', async (t) => {
  const gh = await buildTestApp(t, { env });
  for (const [name, email, says] of REFUSED) {
    const res = await gh.app.inject({ method: 'POST', url: '/account/signup', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().error, 'invalid_request');
    t.match(res.json().error_description, says, `${name}: says why`);
  }
  t.same(await gh.services.users.list({ limit: 100, offset: 0 }), [], 'no account was created');
});

t.test('signup API: forms that normalise to the same address are one account', async (t) => {
  const gh = await buildTestApp(t, { env });
  for (const [name, email, stored] of SAME) {
    const res = await gh.app.inject({ method: 'POST', url: '/account/signup', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
    t.equal(res.statusCode, 202, name);
    t.ok(await gh.services.users.findByEmail(stored), `${name}: stored as ${stored}`);
  }
  const again = await gh.app.inject({ method: 'POST', url: '/account/signup', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'alice@example.com', password: PASSWORD }) });
  t.equal(again.statusCode, 202);
  t.equal((await gh.services.users.list({ limit: 100, offset: 0 })).filter((u) => u.email === 'alice@example.com').length, 1, 'the fullwidth signup and the ASCII one are the same account');
});

t.test('gatehouse users create refuses look-alikes with the reason', async (t) => {
  const dir = await tempDir(t);
  const db = await createTestDatabase(t, DEFAULT_KIND);
  // Only `gatehouse migrate` and the server's start create the schema.
  await migrate(db.kind, db.url);
  const vars = { DATABASE_URL: db.url, DATA_DIR: dir, LOG_LEVEL: 'silent' };
  for (const [name, email, says] of REFUSED.slice(0, 8)) {
    const r = await cli(['users', 'create', email, '--password-stdin', '--json'], vars, dir, `${PASSWORD}\n`);
    t.equal(r.code, 1, `${name}: refused`);
    t.equal(r.json().error, 'invalid_request');
    t.match(r.json().error_description, says);
  }
  const kelvin = await cli(['users', 'create', '\u212Aate@example.com', '--password-stdin', '--json'], vars, dir, `${PASSWORD}\n`);
  t.equal(kelvin.code, 0, kelvin.stderr);
  t.equal(kelvin.json().email, 'kate@example.com');
  t.same((await cli(['users', 'list', '--json'], vars, dir)).json().map((u: { email: string }) => u.email), ['kate@example.com'], 'only the one account');
});
