import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { Test } from 'tap';

/** A received message: the envelope and the raw RFC 5322 text. */
export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
}

/**
 * A minimal SMTP server on loopback that accepts everything and keeps it (RFC 5321's commands a
 * client needs: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH). With `refuseFirst`,
 * the first that many MAIL commands get a temporary failure (451), as a greylisting server answers.
 */
export async function startSmtpSink(
  t: Test,
  options: { refuseFirst?: number } = {},
): Promise<{ port: number; url: string; messages: SinkMessage[]; refused: () => number }> {
  const messages: SinkMessage[] = [];
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let current: SinkMessage = { from: '', to: [], data: '' };
    let dataLines: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 sink.test ESMTP ready');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push({ ...current, data: dataLines.join('\r\n') });
            current = { from: '', to: [], data: '' };
            reply('250 2.0.0 queued');
          } else {
            dataLines.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (verb === 'HELO') reply('250 sink.test');
        else if (verb === 'MAIL') {
          if (refused < (options.refuseFirst ?? 0)) {
            refused += 1;
            reply('451 4.7.1 greylisted, try again later');
            continue;
          }
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          dataLines = [];
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET') {
          current = { from: '', to: [], data: '' };
          reply('250 ok');
        } else if (verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port, url: `smtp://127.0.0.1:${port}`, messages, refused: () => refused };
}

/** The text body of a message, quoted-printable or 8bit: of a multipart one, its text/plain part
 * (`type` picks another, e.g. text/html). */
export function bodyOf(data: string, type = 'text/plain'): string {
  const split = data.indexOf('\r\n\r\n');
  const head = data.slice(0, split);
  const body = data.slice(split + 4);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head)?.[1];
  if (/content-type:\s*multipart\//i.test(head) && boundary) {
    const part = body.split(`--${boundary}`).find((p) => new RegExp(`content-type:\\s*${type}`, 'i').test(p.slice(0, p.indexOf('\r\n\r\n'))));
    return part === undefined ? '' : bodyOf(part.replace(/^\r\n/, ''), type);
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}
