import t from 'tap';
import { mailContext, passwordResetMail } from '../../src/accounts/mail-messages.ts';
import { createSmtpMailer } from '../../src/mail/smtp-mailer.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { buildTestApp } from '../helpers/build-app.ts';
import { readOutbox } from '../helpers/outbox.ts';
import { bodyOf, startSmtpSink } from '../helpers/smtp-sink.ts';

t.test('the SMTP transport delivers a whole message with the link; header injection is refused', async (t) => {
  const sink = await startSmtpSink(t);
  const mailer = createSmtpMailer({ url: sink.url, from: 'Gatehouse <no-reply@id.example.com>', logger: createLogger('silent') });
  t.teardown(() => mailer.close());
  await mailer.send(passwordResetMail(mailContext({ issuer: 'https://id.example.com' }), 'ann@example.com', 'B'.repeat(43)));
  t.equal(sink.messages.length, 1);
  const [message] = sink.messages;
  t.equal(message!.from, 'no-reply@id.example.com');
  t.same(message!.to, ['ann@example.com']);
  t.match(message!.data, /^Subject: Reset your password$/m);
  t.match(message!.data, /^Auto-Submitted: auto-generated$/m);
  t.ok(bodyOf(message!.data).includes(`https://id.example.com/account/password/reset?token=${'B'.repeat(43)}`), 'the link survives the transfer encoding');
  t.match(message!.data, /^Content-Type: multipart\/alternative;/m, 'text and HTML');
  t.match(bodyOf(message!.data, 'text/html'), new RegExp(`<a href="https://id\\.example\\.com/account/password/reset\\?token=${'B'.repeat(43)}"`), 'the HTML part links too');

  await t.rejects(mailer.send({ to: 'ann@example.com\r\nBcc: all@example.com', subject: 'x', text: 'y' }), /line break/);
  t.equal(sink.messages.length, 1, 'nothing sent');
});

t.test('with SMTP_URL the app mails through the server, and the outbox stays empty', async (t) => {
  const sink = await startSmtpSink(t);
  const gh = await buildTestApp(t, { env: { SMTP_URL: sink.url, MAIL_FROM: 'Accounts <accounts@shop.example>' } });
  const res = await gh.app.inject({ method: 'POST', url: '/account/signup', payload: { email: 'smtp@example.com', password: 'a long and quiet harbour' } });
  t.equal(res.statusCode, 202);
  await gh.services.background.idle();
  t.equal(sink.messages.length, 1);
  t.equal(sink.messages[0]!.from, 'accounts@shop.example', 'MAIL_FROM is the sender');
  t.match(bodyOf(sink.messages[0]!.data), new RegExp(`${gh.issuer}/account/verify-email\\?token=[A-Za-z0-9_-]{43}`));
  t.same(await readOutbox(gh.config.dataDir), []);
  t.notMatch(JSON.stringify(gh.logs), /token=[A-Za-z0-9_-]{43}/, 'no token in the logs');
});

t.test('a mail server that refuses a delivery for a while: the mail is tried again and arrives, counted in /metrics', async (t) => {
  const sink = await startSmtpSink(t, { refuseFirst: 1 });
  const gh = await buildTestApp(t, { env: { SMTP_URL: sink.url } });
  const res = await gh.app.inject({ method: 'POST', url: '/account/signup', payload: { email: 'greylisted@example.com', password: 'a long and quiet harbour' } });
  t.equal(res.statusCode, 202, 'the answer does not wait for the mail');
  await gh.services.background.idle();
  t.equal(sink.refused(), 1, 'the first delivery was refused');
  t.equal(sink.messages.length, 1, 'the retry delivered it');
  t.same(sink.messages[0]!.to, ['greylisted@example.com']);
  const metrics = (await gh.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^gatehouse_mail_deliveries_total\{outcome="retried"\} 1$/m);
  t.match(metrics, /^gatehouse_mail_deliveries_total\{outcome="sent"\} 1$/m);
  t.match(metrics, /^gatehouse_mail_deliveries_total\{outcome="failed"\} 0$/m);
  const retry = gh.logs.find((l) => l.msg === 'mail not sent; trying again');
  t.ok(retry, 'the failed attempt is logged');
  t.match(retry, { attempt: 1, retryInMs: 1000, err: { message: /451/ } }, 'with the server\'s answer and the wait');
  t.notMatch(JSON.stringify(retry), /greylisted@example\.com|verify-email/, 'without the address or the link');
});

t.test('a mail server that is down fails the background task, logged, never the answer', async (t) => {
  const sink = await startSmtpSink(t);
  const url = sink.url.replace(String(sink.port), '1');
  // No retries here: giving up after the waits is the unit test's to show.
  const gh = await buildTestApp(t, { env: { SMTP_URL: url, MAIL_RETRIES: '0' } });
  const res = await gh.app.inject({ method: 'POST', url: '/account/signup', payload: { email: 'down@example.com', password: 'a long and quiet harbour' } });
  t.equal(res.statusCode, 202);
  await gh.services.background.idle();
  const failed = gh.logs.find((l) => l.msg === 'background task failed');
  t.ok(failed, 'logged');
  t.equal(failed!.task, 'signup mail');
});
