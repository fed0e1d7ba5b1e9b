import { randomBytes } from 'node:crypto';
import type { MailMessage } from '../accounts/mailer.js';

/** Header values we write must be one line: a CR or LF would start a header of someone else's choosing. */
export function assertHeaderValue(name: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new Error(`mail header ${name} contains a line break`);
}

/** RFC 2047 encoded-word for a non-ASCII header value (subjects are ours, but may be translated). */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * The message as an RFC 5322 text (what an SMTP server would store): one plain-text UTF-8 part,
 * 8bit so that links stay readable and clickable in the file, CRLF line ends.
 */
export function formatMessage(from: string, message: MailMessage, date: Date): string {
  for (const [name, value] of [['From', from], ['To', message.to], ['Subject', message.subject]] as const) assertHeaderValue(name, value);
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  const headers = [
    `From: ${from}`,
    `To: ${message.to}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    // RFC 3834: automatic mail; out-of-office replies should not answer it.
    'Auto-Submitted: auto-generated',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${message.text.replace(/\r?\n/g, '\r\n')}\r\n`;
}
