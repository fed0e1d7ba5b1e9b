import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { artifactPath } from './browser.ts';

/**
 * axe-core in the page: the serious and critical violations, and a page wider than the screen, as
 * sentences (empty: none). A screenshot goes to test-artifacts/a11y-<label>-<name>.png.
 */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };

export async function audit(page: Page, name: string, label: string): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  // Evaluated in the page (strings: the tests are compiled without the DOM's types).
  const [violations, passes] = (await page.evaluate(`axe.run().then((r) => [r.violations, r.passes.length])`)) as [Violation[], number];
  // A run that checked nothing would pass anything.
  if (passes < 5) return [`${name} (${label}): axe checked only ${passes} rules`];
  const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
  const viewport = page.viewportSize()!.width;
  await page.screenshot({ path: await artifactPath(`a11y-${label}-${name}.png`), fullPage: true });
  return [
    ...violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${name} (${label}): ${v.id} — ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    ...(width > viewport ? [`${name} (${label}): ${width} px wide on a ${viewport} px screen`] : []),
  ];
}

