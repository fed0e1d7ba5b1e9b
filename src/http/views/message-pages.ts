import { html, layout, raw } from './html.js';

export interface PageLink {
  href: string;
  text: string;
}

/** A page that tells the person one thing (errors, "check your inbox", "done") and offers the next
 * step: the first link as a button, the others beside it. */
export function messagePage(title: string, sentence: string, links?: PageLink | readonly PageLink[]): string {
  const [first, ...more] = links === undefined ? [] : Array.isArray(links) ? (links as readonly PageLink[]) : [links as PageLink];
  return layout(
    title,
    html`<h1>${title}</h1>
<p>${sentence}</p>
${first ? html`<p><a class="button" href="${first.href}">${first.text}</a></p>` : raw('')}
${more.length ? html`<nav class="links" aria-label="Next steps">${more.map((l) => html`<a href="${l.href}">${l.text}</a>`)}</nav>` : raw('')}`,
  );
}

/** The account page: where a person can always go on from (sign in, then manage the account). */
export const ACCOUNT_LINK: PageLink = { href: '/account', text: 'Go to your account' };
