import { join } from 'node:path';
import type { Mailer } from '../accounts/mailer.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import { createOutboxMailer } from './outbox-mailer.js';
import { withRetries, type MailDeliveries } from './retrying-mailer.js';
import { createSmtpMailer } from './smtp-mailer.js';

/** The first retry of a failed delivery waits this long; each further one twice as long (1, 2, 4 s). */
const MAIL_RETRY_BASE_DELAY_MS = 1000;

/**
 * SMTP (MAIL_TRANSPORT=smtp, the default when SMTP_URL is set), otherwise the outbox folder
 * `$DATA_DIR/outbox/`; either way a failed delivery is tried again MAIL_RETRIES times.
 */
export function createMailer(
  config: Pick<Config, 'smtpUrl' | 'mailTransport' | 'mailFrom' | 'mailRetries' | 'dataDir' | 'nodeEnv'>,
  logger: Logger,
  clock: Clock,
): Mailer & { close(): void; deliveries(): MailDeliveries } {
  const transport =
    config.mailTransport === 'smtp' && config.smtpUrl
      ? createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom, logger })
      : { ...createOutboxMailer({ dir: join(config.dataDir, 'outbox'), from: config.mailFrom, clock, logger, logLinks: config.nodeEnv !== 'production' }), close: () => {} };
  const retrying = withRetries(transport, { retries: config.mailRetries, baseDelayMs: MAIL_RETRY_BASE_DELAY_MS, logger });
  return { send: (message) => retrying.send(message), deliveries: retrying.deliveries, close: () => transport.close() };
}
