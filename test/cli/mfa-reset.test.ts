import { Secret, TOTP } from 'otpauth';
import t from 'tap';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../src/accounts/mfa/second-factors.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { DEFAULT_KIND } from '../helpers/databases.ts';
import { createVerifiedUser, PASSWORD, registerClient } from '../helpers/fixtures.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { cliJson } from '../helpers/oauth-app.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { basic, postForm } from '../helpers/tokens.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

/**
 * An operator removes a person's second factors: `gatehouse users mfa reset <email>` as its own
 * process beside a running server (the server asks for no code at the next sign-in, nothing cached),
 * and the admin API's POST /admin/users/:email/mfa/reset. Both audited with the actor and mailed.
 */
t.setTimeout(300_000);
const EMAIL = 'lena@example.com';
const password = 'a quiet harbour at dawn';

t.test(`${DEFAULT_KIND}: users mfa reset from the CLI beside a running server`, async (t) => {
  const gh = await gatehouseDeployment(t, DEFAULT_KIND);
  const server = await gh.start();
  await gh.cli(['users', 'create', EMAIL, '--password-stdin', '--verified'], password);

  /** Signs in at /account from a fresh browser; returns the browser and the page after the password. */
  const signInAtAccount = async () => {
    const ua = new UserAgent();
    const login = await ua.follow(`${server.url}/account`);
    const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(login.url)![1]!;
    const after = await ua.follow(`${server.url}/interaction/${uid}/login`, undefined, { form: { csrf: hiddenField(login.body, 'csrf'), email: EMAIL, password } });
    return { ua, after };
  };

  // The person enrols an authenticator app on the account page (the server's wall clock: ±1 step).
  const { ua, after } = await signInAtAccount();
  t.match(after.body, /<h1>Your account<\/h1>/);
  const enrol = await ua.request(`${server.url}/account/mfa/totp`);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.body)![1]!.replace(/ /g, '');
  const app = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  const on = await ua.request(`${server.url}/account/mfa/totp/confirm`, { form: { csrf: hiddenField(enrol.body, 'csrf'), code: app.generate() } });
  t.equal(on.status, 200);
  t.match(on.body, /Your recovery codes/);
  t.match((await signInAtAccount()).after.body, /Confirm it’s you/, 'signing in now asks for a code');

  const reset = await gh.cli(['users', 'mfa', 'reset', EMAIL]);
  t.equal(reset.code, 0, reset.stderr);
  t.match(reset.stdout, /removed the second factors of lena@example\.com \(authenticator app: yes, recovery codes: 10, passkeys: 0\)/);
  t.match((await signInAtAccount()).after.body, /<h1>Your account<\/h1>/, 'the running server asks for the password only');
  const [event] = (await cliJson(gh, ['audit', '--type', 'mfa.reset'])) as unknown as { detail: Record<string, unknown> }[];
  t.match(event?.detail, { actor: 'cli', totp: true, recoveryCodes: 10 }, 'audited with the actor');
  const mail = await lastMailTo(gh.dataDir, EMAIL);
  t.equal(mail.subject, 'Your second factors were removed');

  const again = await gh.cli(['users', 'mfa', 'reset', EMAIL]);
  t.match(again.stdout, /had no second factor; nothing removed/);
  const unknown = await gh.cli(['users', 'mfa', 'reset', 'nobody@example.com']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /no user with email nobody@example\.com/);
  const usage = await gh.cli(['users', 'mfa', 'wipe', EMAIL]);
  t.equal(usage.code, 1);
  t.match(usage.stderr, /unknown action "wipe" \(the one action is reset\); see gatehouse users mfa --help/);
  const help = await gh.cli(['users', 'mfa', '--help']);
  t.match(help.stdout, /npx gatehouse users mfa reset ada@example\.com/);
});

t.test('POST /admin/users/:email/mfa/reset: every factor removed, audited with the admin client, mailed', async (t) => {
  const gh = await buildTestApp(t, { listen: true });
  const ops = await registerClient(gh.services, { name: 'ops', grants: ['client_credentials'], resources: [`${gh.issuer}/admin`], scope: 'gatehouse:admin' });
  const token = String((await postForm(`${gh.issuer}/token`, { grant_type: 'client_credentials', scope: 'gatehouse:admin' }, basic(ops.client_id, ops.client_secret!))).json.access_token);
  const user = await createVerifiedUser(gh.services, EMAIL, PASSWORD);
  const { secret } = await startTotpEnrolment(gh.services.secondFactors, user);
  await confirmTotpEnrolment(gh.services.secondFactors, user, new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: gh.services.clock.now().getTime() }), { ip: '127.0.0.1' });
  const reset = (email: string) => fetch(`${gh.issuer}/admin/users/${encodeURIComponent(email)}/mfa/reset`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  const res = await reset(EMAIL);
  t.equal(res.status, 200);
  t.same(await res.json(), { email: EMAIL, totp_removed: true, recovery_codes_removed: 10, passkeys_removed: 0 });
  t.equal(await gh.services.secondFactors.mfa.findTotp(user.id), undefined);
  t.equal(await gh.services.secondFactors.mfa.unusedRecoveryCodes(user.id), 0);
  const [event] = await gh.services.auditStore.query({ type: 'mfa.reset', limit: 5 });
  t.match(event?.detail, { actor: `admin api (client ${ops.client_id})` });
  await gh.services.background.idle();
  t.equal((await lastMailTo(gh.config.dataDir, EMAIL)).subject, 'Your second factors were removed');

  const missing = await reset('nobody@example.com');
  t.equal(missing.status, 404);
  t.match(await missing.json(), { error: 'not_found' });
  const anonymous = await fetch(`${gh.issuer}/admin/users/${EMAIL}/mfa/reset`, { method: 'POST' });
  t.equal(anonymous.status, 401);
});
