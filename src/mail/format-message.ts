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

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

/**
 * The message as an RFC 5322 text (what an SMTP server would store): UTF-8, 8bit so that links stay
 * readable and clickable in the file, CRLF line ends. With an HTML body it is multipart/alternative
 * (RFC 2046 §5.1.4): the plain text first, the HTML last (the richest part last, as readers prefer it).
 */
export function formatMessage(from: string, message: MailMessage, date: Date): string {
  for (const [name, value] of [['From', from], ['To', message.to], ['Subject', message.subject]] as const) assertHeaderValue(name, value);
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  const boundary = `=_gatehouse_${randomBytes(12).toString('hex')}`;
  const headers = [
    `From: ${from}`,
    `To: ${message.to}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
    ...(message.html === undefined
      ? ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit']
      : [`Content-Type: multipart/alternative; boundary="${boundary}"`]),
    // RFC 3834: automatic mail; out-of-office replies should not answer it.
    'Auto-Submitted: auto-generated',
  ];
  if (message.html === undefined) return `${headers.join('\r\n')}\r\n\r\n${crlf(message.text)}\r\n`;
  const part = (type: string, body: string) => `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${crlf(body)}\r\n`;
  return `${headers.join('\r\n')}\r\n\r\n${part('text/plain', message.text)}${part('text/html', message.html)}--${boundary}--\r\n`;
}
