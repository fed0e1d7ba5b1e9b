import { html, layout, raw } from './html.js';

export interface PageLink {
  href: string;
  text: string;
}

/** A page that tells the person one thing (errors, "check your inbox", "done"), optionally with the
 * one link that takes them on. */
export function messagePage(title: string, sentence: string, link?: PageLink): string {
  return layout(
    title,
    html`<h1>${title}</h1>
<p>${sentence}</p>
${link ? html`<p><a class="button" href="${link.href}">${link.text}</a></p>` : raw('')}`,
  );
}
