import { ACCOUNT_LINK, messagePage, type PageLink } from './message-pages.js';
import { page, type Page, type Say } from './page.js';

/**
 * The pages behind the mailed links and "forgot your password". A link's GET only shows a page with
 * one button (mail scanners prefetch links); the button POSTs.
 */
export function confirmEmailPage(p: { token: string; csrf: string }): Page {
  return page('confirm-email', p);
}

export function emailConfirmedPage(continueTo?: PageLink): Page {
  return messagePage('email_confirmed.title', continueTo ? 'email_confirmed.sign_in' : 'email_confirmed.go_back', continueTo ?? ACCOUNT_LINK);
}

export function forgotPasswordPage(p: { email?: string; error?: Say }): Page {
  return page('forgot-password', p);
}

/** The same page for every well-formed address (no enumeration). */
export function resetSentPage(email: string): Page {
  return page('reset-sent', { email });
}

export function resetPasswordPage(p: { token: string; csrf: string; error?: Say }): Page {
  return page('reset-password', p);
}

export function passwordChangedPage(continueTo?: PageLink): Page {
  return messagePage(
    'password_changed.title',
    [{ key: 'password_changed.sentence' }, { key: continueTo ? 'password_changed.sign_in' : 'password_changed.go_back' }],
    continueTo ?? ACCOUNT_LINK,
  );
}

/** A mailed link that does not work (invalid, used, expired), with the way to get a new one. */
export function linkProblemPage(sentence: Say, again?: PageLink): Page {
  return messagePage('link_problem.title', sentence, again ?? ACCOUNT_LINK);
}
