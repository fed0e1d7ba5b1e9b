import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A mail as the outbox transport wrote it (one .eml file per mail). */
export interface OutboxMail {
  file: string;
  headers: Record<string, string>;
  to: string;
  subject: string;
  /** The plain-text part (the whole body of a single-part mail). */
  text: string;
  /** The HTML part of a multipart/alternative mail. */
  html: string | undefined;
  /** The first link to this server's /account pages in the text. */
  link: string | undefined;
}

export function parseMail(file: string, raw: string): OutboxMail {
  const split = raw.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of raw.slice(0, split).split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.slice(split + 4).replace(/\r\n/g, '\n');
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type'] ?? '')?.[1];
  const parts = boundary ? body.split(`--${boundary}`).slice(1, -1) : [];
  const partOf = (type: string) => {
    const part = parts.find((p) => new RegExp(`^\\s*content-type: ${type}`, 'im').test(p));
    return part === undefined ? undefined : part.slice(part.indexOf('\n\n') + 2).replace(/\n$/, '');
  };
  const text = boundary ? (partOf('text/plain') ?? '') : body;
  return { file, headers, to: headers.to ?? '', subject: headers.subject ?? '', text, html: partOf('text/html'), link: /https?:\/\/\S+\/account\/\S+/.exec(text)?.[0] };
}

/** Every mail in `$DATA_DIR/outbox`, oldest first (file names start with the time). */
export async function readOutbox(dataDir: string): Promise<OutboxMail[]> {
  const dir = join(dataDir, 'outbox');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return Promise.all(names.map(async (n) => parseMail(join(dir, n), await readFile(join(dir, n), 'utf8'))));
}

/** The newest mail to `to`, or an error naming what the outbox holds. */
export async function lastMailTo(dataDir: string, to: string): Promise<OutboxMail> {
  const mails = (await readOutbox(dataDir)).filter((m) => m.to === to);
  const last = mails.at(-1);
  if (!last) throw new Error(`no mail to ${to} in the outbox`);
  return last;
}
