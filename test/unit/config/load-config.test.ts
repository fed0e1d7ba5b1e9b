import t from 'tap';
import { describeConfig, loadConfig } from '../../../src/config/load-config.ts';
import { ConfigError } from '../../../src/errors.ts';

const cwd = '/srv/gatehouse';
const SECRET = 'a-secret-that-is-at-least-32-characters-long';

function problems(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) return Object.fromEntries(err.issues.map((i) => [i.variable, i.message]));
    throw err;
  }
  return {};
}

t.test('the embedded default needs no variable at all', async (t) => {
  const c = loadConfig({}, cwd);
  t.equal(c.port, 3000);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.issuer, 'http://localhost:3000');
  t.equal(c.dataDir, '/srv/gatehouse/data');
  t.equal(c.databaseUrl, 'file:/srv/gatehouse/data/gatehouse.db');
  t.equal(c.databaseKind, 'sqlite');
  t.equal(c.keysDir, '/srv/gatehouse/keys');
  t.equal(c.secrets, null, 'development secrets are generated later, into the data folder');
  t.same(c.trustProxy, []);
  t.equal(c.accessTokenTtl, 600);
  t.equal(c.idTokenTtl, 3600);
  t.equal(c.refreshTokenTtl, 14 * 86400);
  t.equal(c.refreshTokenAbsoluteTtl, 90 * 86400);
  t.equal(c.refreshGraceSeconds, 10);
  t.equal(c.keyPrepublish, 3600);
  t.equal(c.requireEmailVerification, true);
  t.equal(c.smtpUrl, null);
  t.equal(c.mailFrom, 'Gatehouse <no-reply@localhost>');
  t.equal(c.logLevel, 'info');
});

t.test('defaults follow the variables they derive from', async (t) => {
  const c = loadConfig({ PORT: '8080', DATA_DIR: 'var/gh' }, cwd);
  t.equal(c.issuer, 'http://localhost:8080');
  t.equal(c.databaseUrl, 'file:/srv/gatehouse/var/gh/gatehouse.db');
  t.equal(loadConfig({ ISSUER: 'https://id.example.com' }, cwd).mailFrom, 'Gatehouse <no-reply@id.example.com>', 'the sender follows the issuer');
});

t.test('reads every documented variable', async (t) => {
  const c = loadConfig(
    {
      NODE_ENV: 'production',
      PORT: '443',
      HOST: '0.0.0.0',
      ISSUER: 'https://id.example.com/',
      DATABASE_URL: 'postgresql://gh:pw@db:5432/gatehouse',
      SECRETS: `${SECRET}, ${SECRET}-old`,
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.7, ::1',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      REFRESH_TOKEN_ABSOLUTE_TTL: '30d',
      REFRESH_GRACE_SECONDS: '0',
      KEY_PREPUBLISH: '2h',
      REQUIRE_EMAIL_VERIFICATION: 'false',
      SMTP_URL: 'smtp://mailer:secret@mail:587',
      MAIL_FROM: 'Example Accounts <accounts@example.com>',
      LOG_LEVEL: 'warn',
    },
    cwd,
  );
  t.equal(c.issuer, 'https://id.example.com', 'one canonical form, no trailing slash');
  t.equal(c.mailFrom, 'Example Accounts <accounts@example.com>');
  t.equal(c.databaseKind, 'postgres');
  t.same(c.secrets, [SECRET, `${SECRET}-old`]);
  t.same(c.trustProxy, ['10.0.0.0/8', '192.168.1.7', '::1']);
  t.equal(c.accessTokenTtl, 300);
  t.equal(c.refreshTokenTtl, 7 * 86400);
  t.equal(c.refreshGraceSeconds, 0, '0 turns the grace window off');
  t.equal(c.keyPrepublish, 7200);
  t.equal(c.requireEmailVerification, false);
  t.equal(c.logLevel, 'warn');
});

t.test('every bad variable is reported at once, each by name', async (t) => {
  const found = problems({ PORT: 'abc', ISSUER: 'ftp://x', ACCESS_TOKEN_TTL: 'soon', LOG_LEVEL: 'loud' });
  t.same(Object.keys(found).sort(), ['ACCESS_TOKEN_TTL', 'ISSUER', 'LOG_LEVEL', 'PORT']);
  t.match(found.PORT, /integer/);
  t.match(found.ISSUER, /http/);
  try {
    loadConfig({ PORT: 'abc', ISSUER: 'ftp://x' }, cwd);
    t.fail('should throw');
  } catch (err) {
    t.type(err, ConfigError);
    const lines = (err as Error).message.split('\n');
    t.equal(lines.length, 3, 'a heading and one line per variable');
    t.match(lines[1], /^ {2}PORT: /);
    t.match(lines[2], /^ {2}ISSUER: /);
  }
});

t.test('production refuses an http issuer and missing secrets', async (t) => {
  const found = problems({ NODE_ENV: 'production', ISSUER: 'http://id.example.com' });
  t.match(found.ISSUER, /https/);
  t.match(found.SECRETS, /required/);
  t.same(problems({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', SECRETS: SECRET, SMTP_URL: 'smtp://mail:587' }), {});
});

t.test('production refuses a defaulted issuer and a missing mail transport, naming each', async (t) => {
  const found = problems({ NODE_ENV: 'production', SECRETS: SECRET });
  t.same(Object.keys(found).sort(), ['ISSUER', 'SMTP_URL']);
  t.match(found.ISSUER, /required when NODE_ENV=production/);
  t.match(found.SMTP_URL, /MAIL_TRANSPORT=outbox/);
  t.same(problems({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', SECRETS: SECRET, MAIL_TRANSPORT: 'outbox' }), {}, 'the outbox when chosen on purpose');
  t.equal(loadConfig({ SMTP_URL: 'smtp://mail:587' }, cwd).mailTransport, 'smtp', 'SMTP when a server is set');
  t.equal(loadConfig({}, cwd).mailTransport, 'outbox', 'the outbox on a developer machine');
  t.equal(loadConfig({ SMTP_URL: 'smtp://mail:587', MAIL_TRANSPORT: 'outbox' }, cwd).mailTransport, 'outbox');
  t.match(problems({ MAIL_TRANSPORT: 'smtp' }).MAIL_TRANSPORT, /SMTP_URL is not set/);
  t.ok(problems({ MAIL_TRANSPORT: 'pigeon' }).MAIL_TRANSPORT);
});

t.test('rejects malformed values of every kind', async (t) => {
  t.ok(problems({ PORT: '70000' }).PORT);
  t.ok(problems({ PORT: '-1' }).PORT);
  t.ok(problems({ ISSUER: 'https://id.example.com/?x=1' }).ISSUER, 'no query in an issuer');
  t.ok(problems({ ISSUER: 'not a url' }).ISSUER);
  t.ok(problems({ DATABASE_URL: 'mysql://db/x' }).DATABASE_URL);
  t.notMatch(problems({ DATABASE_URL: 'mysql://u:hunter2@db/x' }).DATABASE_URL, /hunter2/, 'no password in the message');
  t.ok(problems({ SECRETS: 'short' }).SECRETS);
  t.ok(problems({ TRUST_PROXY: '10.0.0.0/33' }).TRUST_PROXY);
  t.ok(problems({ TRUST_PROXY: 'proxy.local' }).TRUST_PROXY);
  t.ok(problems({ REFRESH_GRACE_SECONDS: '-1' }).REFRESH_GRACE_SECONDS);
  t.ok(problems({ REQUIRE_EMAIL_VERIFICATION: 'maybe' }).REQUIRE_EMAIL_VERIFICATION);
  t.ok(problems({ SMTP_URL: 'http://mail' }).SMTP_URL);
  t.ok(problems({ MAIL_FROM: 'not an address' }).MAIL_FROM);
  t.ok(problems({ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }).MAIL_FROM, 'one line only: it becomes a mail header');
  t.notOk(problems({ MAIL_FROM: 'accounts@example.com' }).MAIL_FROM, 'a bare address is fine');
  t.ok(problems({ REFRESH_TOKEN_TTL: '30d', REFRESH_TOKEN_ABSOLUTE_TTL: '7d' }).REFRESH_TOKEN_ABSOLUTE_TTL);
});

t.test('the result is frozen', async (t) => {
  const c = loadConfig({ TRUST_PROXY: '10.0.0.1' }, cwd);
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.trustProxy));
  t.throws(() => {
    (c as { port: number }).port = 1;
  });
});

t.test('the description masks secrets and passwords', async (t) => {
  const shown = describeConfig(
    loadConfig({ SECRETS: SECRET, DATABASE_URL: 'postgres://gh:hunter2@db/gh', SMTP_URL: 'smtp://u:mailpw@mail:25' }, cwd),
  );
  const text = JSON.stringify(shown);
  t.notMatch(text, SECRET);
  t.notMatch(text, /hunter2/);
  t.notMatch(text, /mailpw/);
  t.match(shown.DATABASE_URL, /^postgres:\/\/gh:\*\*\*@db\/gh$/);
  t.match(shown.SECRETS, /1 secret\(s\), masked/);
  t.equal(shown.PORT, 3000);
});

t.test('METRICS_TOKEN: unset means open; a short or malformed token stops the start', async (t) => {
  t.equal(loadConfig({}, cwd).metricsToken, null);
  t.equal(loadConfig({ METRICS_TOKEN: ' abcdefghijklmnopqrstuvwxyz0123456789 ' }, cwd).metricsToken, 'abcdefghijklmnopqrstuvwxyz0123456789');
  t.match(problems({ METRICS_TOKEN: 'short' }).METRICS_TOKEN, /at least 32/);
  t.match(problems({ METRICS_TOKEN: 'has spaces in it which no bearer token may have' }).METRICS_TOKEN, /only letters/);
});

t.test('OTEL_*: tracing is off unless an endpoint is set; a bad endpoint or header list stops the start', async (t) => {
  const off = loadConfig({}, cwd);
  t.same([off.otelEndpoint, off.otelHeaders, off.otelServiceName], [null, null, 'gatehouse']);
  const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ' http://collector:4318 ', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok3n,x-team=id', OTEL_SERVICE_NAME: 'gatehouse-eu' }, cwd);
  t.same([on.otelEndpoint, on.otelHeaders, on.otelServiceName], ['http://collector:4318', 'authorization=Bearer%20tok3n,x-team=id', 'gatehouse-eu']);
  t.match(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT, /http\(s\) URL/);
  t.match(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' }).OTEL_EXPORTER_OTLP_ENDPOINT, /http\(s\) URL/);
  t.match(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/?x=1' }).OTEL_EXPORTER_OTLP_ENDPOINT, /without a query/);
  t.match(problems({ OTEL_EXPORTER_OTLP_HEADERS: 'just-a-token' }).OTEL_EXPORTER_OTLP_HEADERS, /key=value/);
  const shown = JSON.stringify(describeConfig(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://u:collectorpw@collector', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok3n' }, cwd)));
  t.notMatch(shown, /collectorpw|tok3n/, 'config check masks the collector credentials');
  t.match(shown, /"OTEL_SERVICE_NAME":"gatehouse"/);
});
