import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { Test } from 'tap';
import { packageRoot } from '../../src/lib/package-root.ts';

/** Debian's Chromium (`apt-get install chromium`), headless, driven by playwright-core. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.teardown(() => browser.close());
  return browser;
}

/** test-artifacts/ (git-ignored): screenshots and measurements a person can look at after a run. */
export async function artifactPath(name: string): Promise<string> {
  const dir = join(packageRoot(), 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}
