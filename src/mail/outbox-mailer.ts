import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mailer } from '../accounts/mailer.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../observability/logger.js';
import { formatMessage } from './format-message.js';

export interface OutboxOptions {
  dir: string;
  from: string;
  clock: Clock;
  logger: Logger;
  /** Log each mail's link (development). Off in production: a link holds a token, and tokens are
   * never logged there (docs/security.md); the file is still written. */
  logLinks: boolean;
}

/**
 * The development transport (no SMTP_URL): each mail becomes one `.eml` file in the outbox folder,
 * written atomically (temporary file + rename, so a reader never sees half a mail), owner-only
 * (it holds live tokens), and its link is logged so a developer can click it.
 */
export function createOutboxMailer(options: OutboxOptions): Mailer {
  const { dir, from, clock, logger, logLinks } = options;
  return {
    async send(message) {
      const now = clock.now();
      const text = formatMessage(from, message, now);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const name = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`;
      const temporary = join(dir, `.${name}.tmp`);
      await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
      await rename(temporary, join(dir, name));
      logger.info(
        { mail: { to: message.to, subject: message.subject, file: join(dir, name), ...(logLinks && message.link ? { link: message.link } : {}) } },
        'mail written to the outbox',
      );
    },
  };
}
