import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Eta } from 'eta/core';

/**
 * Page and mail templates (Eta), compiled once at start. Names are paths without `.eta`:
 * `pages/login`, `mail/password-reset.text`. An operator's folder (TEMPLATES_DIR) replaces any of
 * ours file by file under the same name; what it does not replace stays ours, so an overridden
 * `pages/layout` frames our own pages too.
 *
 * HTML templates escape every `<%= %>` (autoEscape); `<%~ %>` writes markup as is and is only for
 * values that are markup already (the page body in the layout, sentences from the message files).
 * Plain-text mail templates (`*.text.eta`) are not HTML: they are compiled without escaping, or a link
 * with `&` in it would arrive as `&amp;`.
 */
export interface TemplateSet {
  /** Every template name we ship. */
  readonly names: readonly string[];
  /** The names TEMPLATES_DIR replaces. */
  readonly overridden: readonly string[];
  render(name: string, data: object): string;
}

export class TemplateError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

const isText = (name: string) => name.endsWith('.text');

/** Escapes for element content and quoted attribute values (numeric references, backtick too). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** HTML drops the line break after a `<% %>` tag (autoTrim 'nl'); plain text keeps every line as written. */
function engines() {
  return {
    html: new Eta({ cache: true, varName: 'it', autoEscape: true, escapeFunction: escapeHtml, autoTrim: [false, 'nl'] }),
    text: new Eta({ cache: true, varName: 'it', autoEscape: false, autoTrim: false }),
  };
}

function compileInto(set: ReturnType<typeof engines>, name: string, source: string, shownAs: string): void {
  try {
    (isText(name) ? set.text : set.html).loadTemplate(`@${name}`, source);
  } catch (err) {
    throw new TemplateError(shownAs, `does not compile (${String((err as Error).message).split('\n')[0]})`);
  }
}

export interface TemplateOptions {
  builtInDir: string;
  /** TEMPLATES_DIR: files that replace ours (and `locales/*.json`, read by i18n/messages.ts). */
  overrideDir?: string | null;
  /** An operator's template failed while rendering: the page or mail uses ours instead. */
  onOverrideError?: (name: string, err: unknown) => void;
}

/** Reads and compiles every template; a template that does not compile, or an unknown file name in the
 * operator's folder, throws a TemplateError naming the file. */
export function loadTemplates(options: TemplateOptions): TemplateSet {
  const builtIn = engines();
  const names: string[] = [];
  for (const file of listFiles(options.builtInDir)) {
    if (!file.endsWith('.eta')) continue;
    const name = file.slice(0, -'.eta'.length);
    names.push(name);
    compileInto(builtIn, name, readFileSync(join(options.builtInDir, file), 'utf8'), `src/templates/${file}`);
  }
  const overridden: string[] = [];
  let custom: ReturnType<typeof engines> | undefined;
  if (options.overrideDir) {
    custom = engines();
    const sources = new Map<string, string>();
    for (const file of listFiles(options.overrideDir)) {
      if (file.split('/').some((part) => part.startsWith('.'))) continue; // editors' and the OS's hidden files
      if (/^locales\/[^/]+\.json$/.test(file)) continue;
      const name = file.endsWith('.eta') ? file.slice(0, -'.eta'.length) : '';
      if (!names.includes(name)) throw new TemplateError(file, 'is not one of the template files (see docs/templates.md for their names)');
      sources.set(name, readFileSync(join(options.overrideDir, file), 'utf8'));
      overridden.push(name);
    }
    for (const name of names) {
      const file = `${name}.eta`;
      compileInto(custom, name, sources.get(name) ?? readFileSync(join(options.builtInDir, file), 'utf8'), sources.has(name) ? file : `src/templates/${file}`);
    }
  }
  const renderWith = (set: ReturnType<typeof engines>, name: string, data: object) => (isText(name) ? set.text : set.html).render(`@${name}`, data);
  return {
    names,
    overridden,
    render(name, data) {
      if (!names.includes(name)) throw new Error(`no template ${name}`);
      if (custom && overridden.length > 0) {
        try {
          return renderWith(custom, name, data);
        } catch (err) {
          options.onOverrideError?.(name, err);
        }
      }
      return renderWith(builtIn, name, data);
    },
  };
}
