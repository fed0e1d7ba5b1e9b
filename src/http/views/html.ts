/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template whose interpolations are escaped unless wrapped in `raw()`. */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string) => new Raw(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => {
    const part = Array.isArray(v) ? v.map((x) => (x instanceof Raw ? x.html : escapeHtml(x))).join('') : v instanceof Raw ? v.html : escapeHtml(v);
    out += part + strings[i + 1]!;
  });
  return new Raw(out);
}

/** What the operator names on every page (PRODUCT_NAME, SUPPORT_URL). */
export interface Brand {
  productName: string;
  supportUrl: string | null;
  logoUrl?: string | null;
}
export const DEFAULT_BRAND: Brand = { productName: 'Gatehouse', supportUrl: null };

/** The brand from the configuration (PRODUCT_NAME, SUPPORT_URL, LOGO_URL). */
export const brandOf = (config: { productName: string; supportUrl: string | null; logoUrl: string | null }): Brand => ({
  productName: config.productName,
  supportUrl: config.supportUrl,
  logoUrl: config.logoUrl,
});

/**
 * Pages are written without knowing the operator's brand: they mark where it goes, and the one place
 * that sends pages (http/plugins/page-headers.ts; the engine's pages in protocol-pages.ts) fills it in.
 */
const PRODUCT_SLOT = '<!--gatehouse:product-->';
const FOOTER_SLOT = '<!--gatehouse:footer-->';
const LOGO_SLOT = '<!--gatehouse:logo-->';
export const productName = () => raw(PRODUCT_SLOT);

export function applyBrand(page: string, brand: Brand): string {
  const footer = brand.supportUrl
    ? `<footer class="support"><a href="${escapeHtml(brand.supportUrl)}">Contact ${escapeHtml(brand.productName)} support</a></footer>`
    : '';
  const logo = brand.logoUrl ? `<img class="logo" src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(brand.productName)}">` : '';
  return page.replaceAll(PRODUCT_SLOT, escapeHtml(brand.productName)).replace(FOOTER_SLOT, footer).replace(LOGO_SLOT, logo);
}

/** The page shell: no scripts, one stylesheet, works without JavaScript. */
export function layout(title: string, body: Raw): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · ${PRODUCT_SLOT}</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
</head>
<body>
<main class="card">
${LOGO_SLOT}
${body.html}
</main>
${FOOTER_SLOT}
</body>
</html>
`;
}
