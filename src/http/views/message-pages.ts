import { page, type Page, type Say } from './page.js';

export interface PageLink {
  href: string;
  text: Say;
}

/** A page that tells the person one thing (errors, "check your inbox", "done") and offers the next
 * step: the first link as a button, the others beside it. */
export function messagePage(heading: Say, sentence: Say, links?: PageLink | readonly PageLink[]): Page {
  const list = links === undefined ? [] : Array.isArray(links) ? (links as readonly PageLink[]) : [links as PageLink];
  return page('message', { heading, sentence, links: list });
}

/** The account page: where a person can always go on from (sign in, then manage the account). */
export const ACCOUNT_LINK: PageLink = { href: '/account', text: 'link.account' };
