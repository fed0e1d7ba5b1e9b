/**
 * The mail port: one method. Transports live in src/mail (an SMTP server, or the development outbox
 * folder); the use cases only compose messages and hand them over.
 */
export interface MailMessage {
  /** A normalised, validated address (normalizeEmail): no display name, no line breaks. */
  to: string;
  subject: string;
  /** Plain text, UTF-8. */
  text: string;
  /** The same message as HTML (sent as multipart/alternative with the text). */
  html?: string;
  /** The one link the person is asked to open, if any (the outbox logs it in development). */
  link?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** The reference implementation: keeps every message in memory (unit tests). */
export function createMemoryMailer(): Mailer & { sent: MailMessage[] } {
  const sent: MailMessage[] = [];
  return {
    sent,
    async send(message) {
      sent.push({ ...message });
    },
  };
}
