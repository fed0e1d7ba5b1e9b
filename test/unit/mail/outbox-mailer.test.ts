import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { mailContext, verificationMail } from '../../../src/accounts/mail-messages.ts';
import { formatMessage } from '../../../src/mail/format-message.ts';
import { createOutboxMailer } from '../../../src/mail/outbox-mailer.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { FIXED_START, steppableClock } from '../../helpers/clock.ts';
import { parseMail } from '../../helpers/outbox.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const FROM = 'Gatehouse <no-reply@id.example.com>';
const TOKEN = 'A'.repeat(43);

async function outbox(t: Test, logLinks: boolean) {
  const dir = join(await tempDir(t), 'outbox');
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  return { dir, logs, mailer: createOutboxMailer({ dir, from: FROM, clock: steppableClock(FIXED_START), logger, logLinks }) };
}

t.test('one private .eml file per mail, written whole, its link logged in development', async (t) => {
  const { dir, logs, mailer } = await outbox(t, true);
  await mailer.send(verificationMail(mailContext({ issuer: 'https://id.example.com' }), 'ann@example.com', TOKEN));
  await mailer.send(verificationMail(mailContext({ issuer: 'https://id.example.com' }), 'bob@example.com', TOKEN));
  const names = await readdir(dir);
  t.equal(names.length, 2, 'one file per mail, no temporary file left');
  t.ok(names.every((n) => /^2026-01-15T10-00-00-000Z-[0-9a-f]{8}\.eml$/.test(n)));
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  t.equal((await stat(join(dir, names[0]!))).mode & 0o777, 0o600, 'owner-only: it holds a live token');
  const mail = parseMail(names[0]!, await readFile(join(dir, names.sort()[0]!), 'utf8'));
  t.equal(mail.headers.from, FROM);
  t.match(mail.headers.date, /^Thu, 15 Jan 2026 10:00:00 GMT$/);
  t.match(mail.headers['message-id'], /^<[0-9a-f]{24}@id\.example\.com>$/);
  t.equal(mail.headers['auto-submitted'], 'auto-generated');
  t.match(mail.headers['content-type'], /^multipart\/alternative; boundary="=_gatehouse_[0-9a-f]{24}"$/, 'text and HTML');
  t.match(mail.html, /<a href="https:\/\/id\.example\.com\/account\/verify-email\?token=A+"/, 'the HTML part links too');
  t.equal(mail.link, `https://id.example.com/account/verify-email?token=${TOKEN}`, 'the link is whole and readable');
  const line = logs.find((l) => l.msg === 'mail written to the outbox')!;
  t.match(line.mail, { subject: 'Confirm your email address', link: `https://id.example.com/account/verify-email?token=${TOKEN}` });
});

t.test('in production the link is not logged (tokens never are); the file is still written', async (t) => {
  const { dir, logs, mailer } = await outbox(t, false);
  await mailer.send(verificationMail(mailContext({ issuer: 'https://id.example.com' }), 'ann@example.com', TOKEN));
  t.equal((await readdir(dir)).length, 1);
  t.notMatch(JSON.stringify(logs), new RegExp(TOKEN));
});

t.test('a line break in a header is refused before anything is written', async (t) => {
  const { dir, mailer } = await outbox(t, true);
  await t.rejects(mailer.send({ to: 'ann@example.com\r\nBcc: all@example.com', subject: 'x', text: 'y' }), /line break/);
  await t.rejects(mailer.send({ to: 'ann@example.com', subject: 'Hi\nBcc: all@example.com', text: 'y' }), /line break/);
  await t.rejects(readdir(dir), { code: 'ENOENT' }, 'nothing written');
  t.throws(() => formatMessage('Evil <a@b.c>\r\nBcc: x@y.z', { to: 'ann@example.com', subject: 's', text: 't' }, FIXED_START), /line break/);
});

t.test('a non-ASCII subject is an RFC 2047 encoded-word; the body stays UTF-8 with CRLF', async (t) => {
  const text = formatMessage(FROM, { to: 'ann@example.com', subject: 'Bestätige deine Adresse', text: 'Grüße\nbis bald' }, new Date(0));
  t.match(text, /\r\nSubject: =\?UTF-8\?B\?QmVzdMOkdGlnZSBkZWluZSBBZHJlc3Nl\?=\r\n/);
  t.ok(text.endsWith('\r\n\r\nGrüße\r\nbis bald\r\n'));
});
