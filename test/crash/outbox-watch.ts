import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMail } from '../helpers/outbox.ts';

/** Reads `$DATA_DIR/outbox/` as mail arrives (each file once): the verification token per address. */
export function watchOutbox(dataDir: string) {
  const dir = join(dataDir, 'outbox');
  const seen = new Set<string>();
  const tokens = new Map<string, string>();
  return {
    async scan(): Promise<void> {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const name of names.sort()) {
        // Dot files are the mailer's temporary files; complete mails arrive by rename.
        if (seen.has(name) || name.startsWith('.') || !name.endsWith('.eml')) continue;
        seen.add(name);
        const mail = parseMail(join(dir, name), await readFile(join(dir, name), 'utf8'));
        const token = mail.link && /\/account\/verify-email\?/.test(mail.link) ? new URL(mail.link).searchParams.get('token') : null;
        if (token) tokens.set(mail.to, token);
      }
    },
    verificationToken: (email: string) => tokens.get(email),
  };
}
export type OutboxWatch = ReturnType<typeof watchOutbox>;
