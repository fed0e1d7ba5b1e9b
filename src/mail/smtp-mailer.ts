import type { Transporter } from 'nodemailer';
import type { Mailer } from '../accounts/mailer.js';
import type { Logger } from '../observability/logger.js';
import { assertHeaderValue } from './format-message.js';

export interface SmtpOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465 (TLS). */
  url: string;
  from: string;
  logger: Logger;
}

/** Mail through an SMTP server (SMTP_URL), with nodemailer. Bounded timeouts: a dead server fails a
 * background task after seconds, never holds it for minutes. */
export function createSmtpMailer(options: SmtpOptions): Mailer & { close(): void } {
  // nodemailer (about 40 modules, 12 MB resident) is loaded at the first mail, not at start: most
  // processes issue tokens for hours without sending one.
  let transport: Promise<Transporter> | undefined;
  let created: Transporter | undefined;
  const open = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) => {
      created = nodemailer.createTransport({
        url: options.url,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      });
      return created;
    }));
  return {
    async send(message) {
      for (const [name, value] of [['From', options.from], ['To', message.to], ['Subject', message.subject]] as const) assertHeaderValue(name, value);
      await (await open()).sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html === undefined ? {} : { html: message.html }),
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      options.logger.info({ mail: { to: message.to, subject: message.subject } }, 'mail sent');
    },
    close: () => created?.close(),
  };
}
