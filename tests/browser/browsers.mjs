// The browsers the page tests and benchmarks run in: headless Chromium with WebGPU on
// SwiftShader (the default), or Firefox ESR with WebGPU on lavapipe (`MIRL_BROWSER=firefox`),
// which playwright-core drives over WebDriver BiDi (its own Firefox protocol needs a patched
// build).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, firefox } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';

/** The repository's root. */
export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What the package tests need: a built pkg/ and the CBSD68 test photos (`$MIRL_SHARED`, or
 * ../shared beside the repository). Returns the photos' folder and the first photo's name;
 * fails with what to do when either is missing.
 */
export function packageTestInputs() {
  assert.ok(existsSync(join(repo, 'pkg/mirl.js')), 'pkg/ is missing: run bash scripts/build-pkg.sh');
  const photos = join(resolve(process.env.MIRL_SHARED ?? join(repo, '../shared')), 'data/test/cbsd68');
  assert.ok(existsSync(photos), `the test photos are missing: ${photos} (set MIRL_SHARED)`);
  return { photos, photo: readdirSync(photos).sort()[0] };
}

// The flags and prefs the Rust browser tests (wasm-pack test) use too: WebGPU on SwiftShader
// in Chromium, on whatever Vulkan device there is (lavapipe here) in Firefox.
const webdriver = JSON.parse(readFileSync(join(repo, 'webdriver.json'), 'utf8'));
const CHROMIUM_ARGS = webdriver['goog:chromeOptions'].args.filter((a) => !a.startsWith('--headless'));
const FIREFOX_PREFS = webdriver['moz:firefoxOptions'].prefs;

/** The browser to run in: `$MIRL_BROWSER`, 'chromium' unless it says 'firefox'. */
export const browserName = process.env.MIRL_BROWSER ?? 'chromium';
if (!['chromium', 'firefox'].includes(browserName)) {
  throw new Error(`MIRL_BROWSER must be 'chromium' or 'firefox', not '${browserName}'`);
}

export function launch() {
  if (browserName === 'firefox') {
    return firefox.launch({
      channel: 'moz-firefox',
      executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
      headless: true,
      firefoxUserPrefs: FIREFOX_PREFS,
    });
  }
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Runs a page test: serves `mounts` (as scripts/serve.mjs), opens a page in the browser,
 * and calls `body({ page, url, requests, log })`. Afterwards it checks that no request left the
 * origin and that the console (the page's and its workers', in `log`) shows no panic or
 * uncaught error, but for lines matching `expectedErrors`; then exits with 0 or 1.
 */
export async function pageTest(name, mounts, body, pageOptions = {}, { expectedErrors = null } = {}) {
  const { server, requests, url } = await serve(mounts);
  const browser = await launch();
  let failed = false;
  try {
    const page = await browser.newPage(pageOptions);
    const offsite = [];
    const log = [];
    const local = (u) => u.startsWith(url) || u.startsWith('blob:') || u.startsWith('data:');
    page.on('request', (r) => { if (!local(r.url())) offsite.push(r.url()); });
    // Workers' messages come here too; Chromium says which are a worker's, Firefox does not.
    page.on('console', (m) => log.push(`${m.worker() ? 'worker ' : ''}${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await body({ page, url, requests, log });
    if (offsite.length) throw new Error(`requests left the origin: ${offsite.join(', ')}`);
    const bad = log.filter((l) => /panicked|RuntimeError|unreachable|pageerror/.test(l) && !expectedErrors?.test(l));
    if (bad.length) throw new Error(`errors in the console:\n${bad.join('\n')}`);
    console.log(`${name} (${browserName}): ok`);
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    await browser.close();
    server.close();
  }
  process.exit(failed ? 1 : 0);
}
