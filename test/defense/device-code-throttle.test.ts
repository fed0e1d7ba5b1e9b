import * as oidc from 'openid-client';
import t from 'tap';
import { buildTestApp } from '../helpers/build-app.ts';
import { registerClient } from '../helpers/fixtures.ts';
import { relyingParty } from '../helpers/relying-party.ts';
import { hiddenField, UserAgent } from '../helpers/user-agent.ts';

const LIMIT = 5;

t.test('device code entry (RFC 8628 §5.1): wrong codes count against the IP; over the limit, a 429 page', async (t) => {
  const gh = await buildTestApp(t, { listen: true, env: { IP_FAILURE_LIMIT: String(LIMIT), TRUST_PROXY: '127.0.0.1' } });
  const tv = await registerClient(gh.services, { name: 'TV', grants: ['urn:ietf:params:oauth:grant-type:device_code'], public: true });
  const config = await relyingParty(gh, tv);
  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
  const submit = async (ip: string, userCode: string) => {
    const ua = new UserAgent({ 'x-forwarded-for': ip });
    const input = await ua.follow(device.verification_uri);
    return ua.follow(`${gh.issuer}/device`, undefined, { form: { xsrf: hiddenField(input.body, 'xsrf'), user_code: userCode } });
  };

  // A right code costs nothing: it does not eat into the allowance.
  t.match((await submit('192.0.2.10', device.user_code)).body, /TV/, 'the right code reaches the confirmation');
  for (let i = 1; i <= LIMIT; i++) {
    const wrong = await submit('192.0.2.10', 'BCDF-GHJK');
    t.equal(wrong.status, 200, `wrong code #${i}: the entry page again`);
    t.match(wrong.body, /not valid or has expired/);
  }
  const blocked = await submit('192.0.2.10', 'BCDF-GHJK');
  t.equal(blocked.status, 429, 'over the limit');
  t.ok(Number(blocked.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(blocked.headers.get('content-type'), /text\/html/);
  t.match(blocked.body, /Too many attempts from this network/);
  t.equal((await submit('192.0.2.10', device.user_code)).status, 429, 'even the right code: the IP waits');
  t.match((await submit('192.0.2.99', device.user_code)).body, /TV/, 'another IP is not affected');

  const audit = await gh.services.auditStore.query({ limit: 50 });
  t.ok(audit.some((e) => e.type === 'ip.blocked' && e.ip === '192.0.2.10'), 'the block is audited');
  t.match(await (await fetch(`${gh.issuer}/metrics`)).text(), /gatehouse_throttles_total\{reason="device_code_ip_blocked"\} [1-9]/);
});
