// Debian's chromium, driven by playwright-core (never a downloaded browser). Screenshots and other
// artefacts go to tests/browser/out/ (kept with the test output, ignored by git).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const kChromium = process.env.CA_CHROMIUM ?? '/usr/bin/chromium';
export const kOutDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../out');

/** Launches headless chromium; close it with `browser.close()`. */
export async function launchBrowser() {
  if (!fs.existsSync(kChromium)) {
    throw new Error(`no chromium at ${kChromium} (scripts/packages.sh installs Debian's chromium)`);
  }
  return chromium.launch({
    executablePath: kChromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Path for an artefact named `name` under tests/browser/out/ (the directory is created). */
export function outPath(name) {
  fs.mkdirSync(kOutDir, { recursive: true });
  return path.join(kOutDir, name);
}
