/** The one stylesheet, served from /assets/gatehouse.css (CSP: style-src 'self'). */
export const STYLESHEET = `
:root { color-scheme: light dark; --accent: #2457c5; --on-accent: #fff; --error: #b3261e; --on-error: #fff; --muted: #5f6368; }
/* Dark mode: WCAG AA (4.5:1 for text, 3:1 for the focus ring and borders) on the dark canvas. */
@media (prefers-color-scheme: dark) {
  :root { --accent: #8ab4f8; --on-accent: #0b1d3a; --error: #f2b8b5; --on-error: #3b0a08; --muted: #bdc1c6; }
}
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 2rem 1rem; background: Canvas; color: CanvasText; }
.card { max-width: 26rem; margin: 0 auto; padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 15%, transparent); border-radius: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
/* Long addresses and names wrap instead of overflowing the card on narrow screens. */
h1, p, li, label, strong { overflow-wrap: anywhere; }
a { color: var(--accent); }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .6rem .7rem; font: inherit; border: 1px solid color-mix(in srgb, CanvasText 30%, transparent); border-radius: 8px; background: Field; color: FieldText; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button { font: inherit; padding: .65rem 1rem; border-radius: 8px; border: 0; background: var(--accent); color: var(--on-accent); cursor: pointer; width: 100%; margin-top: 1.25rem; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); margin-top: .5rem; }
.error { color: var(--error); border-left: 4px solid var(--error); padding: .5rem .75rem; margin: 1rem 0; }
.notice { border-left: 4px solid var(--accent); padding: .5rem .75rem; margin: 1rem 0; }
.muted, small { color: var(--muted); }
ul.scopes { padding-left: 1.25rem; }
code.user-code { font-size: 1.5rem; letter-spacing: .1em; }
a.button { display: block; text-align: center; text-decoration: none; font: inherit; padding: .65rem 1rem; border-radius: 8px; background: var(--accent); color: var(--on-accent); margin-top: 1.25rem; }
.hint { font-size: .9rem; color: var(--muted); margin: .35rem 0 0; }
.check { display: flex; align-items: center; gap: .5rem; margin: 1rem 0 0; }
.check label { display: inline; margin: 0; font-weight: 400; }
.check input { width: 1.1rem; height: 1.1rem; margin: 0; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
section { border-top: 1px solid color-mix(in srgb, CanvasText 15%, transparent); margin-top: 1.5rem; }
.address { overflow-wrap: anywhere; }
ul.items { list-style: none; padding: 0; margin: 0 0 1rem; }
ul.items li { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .5rem 0; border-bottom: 1px solid color-mix(in srgb, CanvasText 10%, transparent); }
ul.items form { flex: none; }
/* The account page's passkeys: the name and dates, then rename (field + button) and remove on one row. */
ul.passkeys li { display: block; }
.passkey-actions { display: flex; align-items: flex-end; gap: .5rem; margin-top: .25rem; }
.passkey-actions form:first-child { flex: 1; display: flex; align-items: flex-end; gap: .5rem; }
.passkey-actions form:first-child label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
.passkey-actions input { margin: 0; flex: 1; min-width: 0; }
.passkey-actions button { flex: none; white-space: nowrap; overflow-wrap: normal; }
button.inline { width: auto; margin: 0; padding: .4rem .8rem; }
button.danger { background: var(--error); color: var(--on-error); }
footer.support { max-width: 26rem; margin: 1rem auto 0; text-align: center; font-size: .95rem; }
img.logo { display: block; max-height: 3rem; max-width: 100%; margin: 0 0 1rem; }
nav.links { margin-top: 1.5rem; display: flex; justify-content: space-between; gap: 1rem; font-size: .95rem; }
`;

/** The operator's accent (ACCENT_COLOR) in light mode, with black or white text, whichever contrasts more. */
export function stylesheetWith(accent: string | null): string {
  if (!accent) return STYLESHEET;
  const channel = (i: number) => {
    const c = parseInt(accent.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  // WCAG contrast against white (1.0) and black (0.0): pick the larger.
  const onAccent = (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) ? '#fff' : '#000';
  return `${STYLESHEET}@media (prefers-color-scheme: light) { :root { --accent: ${accent}; --on-accent: ${onAccent}; } }\n`;
}
