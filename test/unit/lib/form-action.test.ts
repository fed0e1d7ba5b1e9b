import t from 'tap';
import { FORM_ACTION_SELF, formActionSource, widenFormAction } from '../../../src/lib/form-action.ts';

t.test('the CSP source for a form target', async (t) => {
  t.equal(formActionSource('https://app.example.com/callback?x=1#f'), 'https://app.example.com', 'an origin, nothing of the path');
  t.equal(formActionSource('http://127.0.0.1:8080/cb'), 'http://127.0.0.1:8080');
  t.equal(formActionSource('com.example.app:/oauth2redirect'), 'com.example.app:', "a native app's private-use scheme");
  t.equal(formActionSource('not a url'), undefined);
  t.equal(formActionSource(undefined), undefined);
  t.equal(formActionSource(42), undefined);
});

t.test('widening form-action', async (t) => {
  const policy = `default-src 'none'; ${FORM_ACTION_SELF}; frame-ancestors 'none'`;
  t.equal(widenFormAction(policy, []), policy);
  t.equal(widenFormAction(policy, [undefined]), policy);
  t.equal(widenFormAction(policy, ['https://a.example', 'https://a.example', undefined]), `default-src 'none'; form-action 'self' https://a.example; frame-ancestors 'none'`);
  // oidc-provider re-joins the policy with ';' and no space after adding a script hash (form_post).
  t.equal(widenFormAction("default-src 'none';form-action 'self';frame-ancestors 'none'", ['https://a.example']), "default-src 'none';form-action 'self' https://a.example;frame-ancestors 'none'");
});
