import { ConfigError } from '../errors.js';
import { join } from 'node:path';
import { chooseLocale, type LocaleHints } from '../i18n/choose-locale.js';
import { FALLBACK_LOCALE, loadMessages, MessagesError, type Messages, type Words } from '../i18n/messages.js';
import { packageRoot } from '../lib/package-root.js';
import { escapeHtml, loadTemplates, TemplateError, type TemplateSet } from './template-set.js';

/** What the operator names on every page and mail (PRODUCT_NAME, SUPPORT_URL, LOGO_URL). */
export interface Brand {
  productName: string;
  supportUrl: string | null;
  logoUrl?: string | null;
}
export const DEFAULT_BRAND: Brand = { productName: 'Gatehouse', supportUrl: null };

/** A mail in one language: the subject from the messages, the two bodies from `mail/<name>.text|html`. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/**
 * Pages and mails in the person's language and the operator's look: the templates (rendering/
 * template-set.ts) fed with the message files (i18n/messages.ts). Built once at start.
 */
export interface Presentation {
  readonly locales: readonly string[];
  readonly defaultLocale: string;
  chooseLocale(hints: LocaleHints): string;
  page(locale: string, template: string, data: object): string;
  /** One sentence from the message files (for markup that is not ours: the engine's forms). */
  text(locale: string, key: string, vars?: Words['vars']): string;
  mail(locale: string, name: string, vars: Record<string, string>): MailContent;
}

export interface PresentationOptions {
  /** TEMPLATES_DIR (null: ours only). */
  templatesDir: string | null;
  defaultLocale: string;
  brand?: Brand;
  onOverrideError?: (name: string, err: unknown) => void;
}

const builtInTemplates = () => join(packageRoot(), 'src', 'templates');
const builtInLocales = () => join(packageRoot(), 'src', 'locales');


/** Reads and compiles everything; throws TemplateError or MessagesError naming the file. */
export function loadParts(templatesDir: string | null, onOverrideError?: PresentationOptions['onOverrideError']): { templates: TemplateSet; messages: Messages } {
  return {
    templates: loadTemplates({ builtInDir: builtInTemplates(), overrideDir: templatesDir, onOverrideError }),
    messages: loadMessages(builtInLocales(), templatesDir ? join(templatesDir, 'locales') : undefined),
  };
}

/**
 * The parts a successful check just compiled, handed once to the next `createPresentation` of the
 * same TEMPLATES_DIR: the start checks the templates, then builds the presentation from them, and
 * compiling every template twice was ~40 ms of each start. Parts that passed the strict check have
 * no override error for `onOverrideError` to report, so they are what that load would make.
 */
let checked: { templatesDir: string | null; parts: ReturnType<typeof loadParts> } | undefined;

/** What is wrong with TEMPLATES_DIR and DEFAULT_LOCALE, as configuration problems (config check, start). */
export function presentationProblems(templatesDir: string | null, defaultLocale: string): { variable: string; message: string }[] {
  try {
    const parts = loadParts(templatesDir);
    const { messages } = parts;
    if (!messages.locales.includes(defaultLocale)) {
      return [{ variable: 'DEFAULT_LOCALE', message: `is ${JSON.stringify(defaultLocale)}, which has no messages; available: ${messages.locales.join(', ')}` }];
    }
    checked = { templatesDir, parts };
    return [];
  } catch (err) {
    if (err instanceof TemplateError || err instanceof MessagesError) return [{ variable: 'TEMPLATES_DIR', message: err.message }];
    throw err;
  }
}

export function createPresentation(options: PresentationOptions): Presentation {
  const reuse = checked?.templatesDir === options.templatesDir ? checked.parts : undefined;
  checked = undefined;
  const { templates, messages } = reuse ?? loadParts(options.templatesDir, options.onOverrideError);
  const brand = options.brand ?? DEFAULT_BRAND;
  const helpers = (locale: string) => {
    const say = (what: string | Words | readonly Words[], vars?: Words['vars']): string =>
      typeof what === 'string' ? messages.text(locale, what, { product: brand.productName, ...vars }) : Array.isArray(what) ? what.map((w) => say(w)).join(' ') : sayWords(what as Words);
    // A `fallback` is the code's own English sentence, more precise than the key's general one (it
    // names the missing field, the seconds to wait): English pages show it, other languages the key.
    const sayWords = (w: Words): string =>
      w.fallback !== undefined && (locale === FALLBACK_LOCALE || (!messages.has(locale, w.key) && !messages.has(FALLBACK_LOCALE, w.key))) ? w.fallback : say(w.key, w.vars);
    // A sentence that carries markup (the message files are the operator's, like the templates); the
    // values put into it are escaped.
    const markup = (key: string, vars: Record<string, string | number> = {}) =>
      messages.text(locale, key, Object.fromEntries([['product', brand.productName], ...Object.entries(vars)].map(([k, v]) => [k, escapeHtml(v)])));
    return { lang: locale, brand, t: say, th: markup };
  };
  return {
    locales: messages.locales,
    defaultLocale: options.defaultLocale,
    chooseLocale: (hints) => chooseLocale(hints, messages.locales, options.defaultLocale),
    text: (locale, key, vars) => helpers(locale).t(key, vars),
    page: (locale, template, data) => templates.render(`pages/${template}`, { ...data, ...helpers(locale) }),
    mail(locale, name, vars) {
      const data = { ...vars, ...helpers(locale) };
      return {
        subject: data.t(`mail.${name}.subject`),
        text: templates.render(`mail/${name}.text`, data).replace(/\s+$/, ''),
        html: templates.render(`mail/${name}.html`, data).replace(/\s+$/, ''),
      };
    },
  };
}

/** The brand from the configuration (PRODUCT_NAME, SUPPORT_URL, LOGO_URL). */
export const brandOf = (config: { productName: string; supportUrl: string | null; logoUrl: string | null }): Brand => ({
  productName: config.productName,
  supportUrl: config.supportUrl,
  logoUrl: config.logoUrl,
});

let builtIn: Presentation | undefined;

/** The built-in templates and words, English by default, made once: for parts given no presentation
 * (use cases without a MailWriter, a server without pageHeadersPlugin: unit tests, tools). */
export function builtInPresentation(): Presentation {
  builtIn ??= createPresentation({ templatesDir: null, defaultLocale: 'en' });
  return builtIn;
}

export function builtInMailWriter(): { write(locale: string | undefined, name: string, vars: Record<string, string>): MailContent } {
  return mailWriterOf(builtInPresentation());
}

/** The presentation as the use cases' MailWriter port (accounts/mail-messages.ts). */
export const mailWriterOf = (presentation: Presentation) => ({
  write: (locale: string | undefined, name: string, vars: Record<string, string>) => presentation.mail(locale ?? presentation.defaultLocale, name, vars),
});

/** Refuses a start (and `gatehouse config check`) whose TEMPLATES_DIR or DEFAULT_LOCALE does not work,
 * naming the file or the languages there are. */
export function assertPresentation(config: { templatesDir: string | null; defaultLocale: string }): void {
  const issues = presentationProblems(config.templatesDir, config.defaultLocale);
  if (issues.length > 0) throw new ConfigError(issues);
}
