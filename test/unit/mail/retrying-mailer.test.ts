import t from 'tap';
import type { MailMessage } from '../../../src/accounts/mailer.ts';
import { withRetries } from '../../../src/mail/retrying-mailer.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const message: MailMessage = { to: 'ann@example.com', subject: 'Confirm your email', text: 'hello' };

function flakyMailer(failures: number) {
  const attempts: MailMessage[] = [];
  return {
    attempts,
    async send(m: MailMessage) {
      attempts.push(m);
      if (attempts.length <= failures) throw new Error(`451 attempt ${attempts.length} refused`);
    },
  };
}

function setup(failures: number, retries: number) {
  const transport = flakyMailer(failures);
  const waits: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const mailer = withRetries(transport, { retries, baseDelayMs: 1000, logger, sleep: async (ms) => void waits.push(ms) });
  return { transport, waits, logs, mailer };
}

t.test('a delivery that fails is tried again after 1 s, then 2 s, until it goes through', async (t) => {
  const { transport, waits, mailer, logs } = setup(2, 3);
  await mailer.send(message);
  t.equal(transport.attempts.length, 3);
  t.same(waits, [1000, 2000], 'doubling waits');
  t.same(mailer.deliveries(), { sent: 1, retried: 2, failed: 0 });
  t.equal(logs.filter((l) => l.msg === 'mail not sent; trying again').length, 2);
  t.notMatch(JSON.stringify(logs), /ann@example\.com|Confirm your email/, 'neither the address nor the message is logged');
});

t.test('after the last retry it gives up: the error reaches the caller, counted and logged once', async (t) => {
  const { transport, waits, mailer, logs } = setup(99, 3);
  await t.rejects(mailer.send(message), /attempt 4 refused/);
  t.equal(transport.attempts.length, 4, 'one attempt and three retries');
  t.same(waits, [1000, 2000, 4000]);
  t.same(mailer.deliveries(), { sent: 0, retried: 3, failed: 1 });
  t.equal(logs.filter((l) => l.msg === 'mail not sent; giving up').length, 1);
});

t.test('MAIL_RETRIES=0: one attempt, no wait', async (t) => {
  const { transport, waits, mailer } = setup(1, 0);
  await t.rejects(mailer.send(message));
  t.equal(transport.attempts.length, 1);
  t.same(waits, []);
  t.same(mailer.deliveries(), { sent: 0, retried: 0, failed: 1 });
});

t.test('a delivery that works at once waits for nothing', async (t) => {
  const { waits, mailer } = setup(0, 3);
  await mailer.send(message);
  t.same(waits, []);
  t.same(mailer.deliveries(), { sent: 1, retried: 0, failed: 0 });
});
