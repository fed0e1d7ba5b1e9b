import type { Mailer } from '../accounts/mailer.js';
import type { Logger } from '../observability/logger.js';

/** Deliveries so far, by outcome: read by /metrics at scrape time. */
export interface MailDeliveries {
  sent: number;
  /** Attempts that failed and were tried again. */
  retried: number;
  /** Messages given up after the last attempt. */
  failed: number;
}

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  /** Wait before the first retry; each further wait doubles. */
  baseDelayMs: number;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A mail server that hiccups (a restart, a greylisting 4xx, a dropped connection) must not cost a
 * person their verification or reset mail: each message is tried again with a doubling wait. The
 * retries live in the sending process (mail is sent in the background, after the answer); a crash
 * in the middle loses them, and the person asks for a new mail. Neither the address nor the message
 * is logged, only that a delivery failed and why.
 */
export function withRetries(mailer: Mailer, options: RetryOptions): Mailer & { deliveries(): MailDeliveries } {
  const sleep = options.sleep ?? realSleep;
  const counts: MailDeliveries = { sent: 0, retried: 0, failed: 0 };
  return {
    deliveries: () => ({ ...counts }),
    async send(message) {
      for (let attempt = 0; ; attempt++) {
        try {
          await mailer.send(message);
          counts.sent += 1;
          return;
        } catch (err) {
          const reason = { message: (err as Error)?.message ?? String(err) };
          if (attempt >= options.retries) {
            counts.failed += 1;
            options.logger.error({ err: reason, attempts: attempt + 1 }, 'mail not sent; giving up');
            throw err;
          }
          const waitMs = options.baseDelayMs * 2 ** attempt;
          counts.retried += 1;
          options.logger.warn({ err: reason, attempt: attempt + 1, retryInMs: waitMs }, 'mail not sent; trying again');
          await sleep(waitMs);
        }
      }
    },
  };
}
