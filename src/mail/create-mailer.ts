import { join } from 'node:path';
import type { Mailer } from '../accounts/mailer.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import { createOutboxMailer } from './outbox-mailer.js';
import { createSmtpMailer } from './smtp-mailer.js';

/** SMTP (MAIL_TRANSPORT=smtp, the default when SMTP_URL is set), otherwise the outbox folder `$DATA_DIR/outbox/`. */
export function createMailer(
  config: Pick<Config, 'smtpUrl' | 'mailTransport' | 'mailFrom' | 'dataDir' | 'nodeEnv'>,
  logger: Logger,
  clock: Clock,
): Mailer & { close(): void } {
  if (config.mailTransport === 'smtp' && config.smtpUrl) return createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom, logger });
  const outbox = createOutboxMailer({ dir: join(config.dataDir, 'outbox'), from: config.mailFrom, clock, logger, logLinks: config.nodeEnv !== 'production' });
  return { send: (message) => outbox.send(message), close: () => {} };
}
