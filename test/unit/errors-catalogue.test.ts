import t from 'tap';
import { AppError, CATALOGUE, describe, FieldError, RETRY_AFTER_UNAVAILABLE, unavailable, type ErrorCode } from '../../src/errors.ts';
import { toErrorResponse } from '../../src/http/plugins/error-handler.ts';

const codes = Object.keys(CATALOGUE) as ErrorCode[];

t.test('every code has one status, one wire error and one exit code', async (t) => {
  for (const code of codes) {
    const d = describe(code);
    t.ok(d.status >= 400 && d.status <= 599, `${code}: ${d.status}`);
    t.match(d.error, /^[a-z_]+$/, `${code}: wire error ${d.error}`);
    t.ok(d.exit === 1 || d.exit === 2, `${code}: exit ${d.exit}`);
    const err = new AppError(code, 'x');
    t.equal(err.statusCode, d.status, `${code}: an AppError takes the catalogue's status`);
    t.equal(err.error, d.error);
    t.equal(err.exitCode, d.exit);
  }
});

t.test('a bearer token and a mailed link say invalid_token with the status each deserves', async (t) => {
  t.equal(describe('invalid_token').status, 401, 'a bad bearer token: 401 (RFC 6750)');
  t.same([describe('link_invalid').status, describe('link_invalid').error], [400, 'invalid_token'], 'a bad link: 400, the same word');
});

t.test('an outage is a 503 with Retry-After on every surface, and exit 2 for the CLI', async (t) => {
  const err = unavailable('the database is not answering', new Error('ECONNREFUSED'));
  t.equal(err.statusCode, 503);
  t.equal(err.headers['retry-after'], String(RETRY_AFTER_UNAVAILABLE));
  t.equal(err.exitCode, 2);
  const response = toErrorResponse(err);
  t.same([response.status, response.body.error, response.headers['retry-after']], [503, 'temporarily_unavailable', '2']);
  t.notMatch(response.body.error_description, /ECONNREFUSED/, 'the cause is logged, never shown');
});

t.test('the error handler answers from the catalogue, and hides what is not exposed', async (t) => {
  const linkUsed = toErrorResponse(new AppError('link_invalid', 'This link is not valid.'));
  t.same([linkUsed.status, linkUsed.body], [400, { error: 'invalid_token', error_description: 'This link is not valid.' }]);
  const keyring = toErrorResponse(new AppError('keyring_invalid', '/srv/keys/manifest.json: not valid JSON'));
  t.same([keyring.status, keyring.body.error], [500, 'server_error'], 'an operator problem is a plain 500 to a client');
  t.notMatch(keyring.body.error_description, /manifest/);
});

t.test('a refused field carries its name and reason; no one parses the message', async (t) => {
  const err = new FieldError('password', 'too_short', 'Use at least 8 characters.');
  t.same([err.code, err.field, err.reason, err.sentence, err.statusCode], ['invalid_request', 'password', 'too_short', 'Use at least 8 characters.', 400]);
  t.equal(err.message, 'password: Use at least 8 characters.');
});
