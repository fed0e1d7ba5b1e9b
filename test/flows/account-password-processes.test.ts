import t from 'tap';
import { DEFAULT_KIND } from '../helpers/databases.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';
import { cliJson, redeemCode, refreshWith, registerWebApp, REDIRECT } from '../helpers/oauth-app.ts';
import { relyingParty, signIn, startAuthorization } from '../helpers/relying-party.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * Two server processes over one database: an app gets a refresh token from the first; the person
 * changes the password on the account page served by the second; the first refuses the refresh token
 * at once (nothing is cached per process: the grant is gone from the database).
 */
t.setTimeout(300_000);
t.test(`${DEFAULT_KIND}: a password change on one process revokes refresh tokens another process issued`, async (t) => {
  const gh = await gatehouseDeployment(t, DEFAULT_KIND);
  const first = await gh.start();
  const second = await gh.start({ PORT: String(first.port + 1) }).catch(async () => gh.start({ PORT: String(first.port + 2) }));
  const password = 'an old lighthouse keeper';
  await gh.cli(['users', 'create', 'pat@example.com', '--password-stdin', '--verified'], password);
  const app = await registerWebApp(gh);

  // Signed in through the first process's pages; the app's tokens come from it too.
  const ua = new UserAgent();
  const config = await relyingParty({ issuer: first.url }, app);
  const start = await startAuthorization(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', prompt: 'consent' });
  const step = await signIn(ua, start.url, REDIRECT, 'pat@example.com', password);
  const issued = await redeemCode(first.url, app, { code: new URL(step.location!).searchParams.get('code')!, verifier: start.verifier });
  const refreshToken = String(issued.json.refresh_token);
  t.equal(issued.status, 200);

  // The account API of the second process, with the browser session the first one created.
  const me = await ua.request(`${second.url}/account/me`, { headers: { accept: 'application/json' } });
  t.equal(me.status, 200, 'the second process knows the session');
  const { csrf } = JSON.parse(me.body) as { csrf: string };
  const changed = await ua.request(`${second.url}/account/password`, { json: { csrf, current_password: password, new_password: 'a new lighthouse keeper' } });
  t.equal(changed.status, 200);

  const refused = await refreshWith(first.url, app, refreshToken);
  t.same([refused.status, refused.json.error], [400, 'invalid_grant'], 'the first process refuses the refresh token');
  const audit = (await cliJson(gh, ['audit', '--type', 'password.changed'])) as unknown as unknown[];
  t.equal(audit.length, 1, 'audited once');
});
