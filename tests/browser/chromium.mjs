// Headless Chromium with WebGPU (SwiftShader), as the tests and benchmarks launch it.
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Runs a page test: serves `mounts` (as scripts/serve.mjs), opens a page in headless Chromium,
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
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    page.on('worker', (w) => w.on('console', (m) => log.push(`worker ${m.type()}: ${m.text()}`)));
    await body({ page, url, requests, log });
    if (offsite.length) throw new Error(`requests left the origin: ${offsite.join(', ')}`);
    const bad = log.filter((l) => /panicked|RuntimeError|unreachable|pageerror/.test(l) && !expectedErrors?.test(l));
    if (bad.length) throw new Error(`errors in the console:\n${bad.join('\n')}`);
    console.log(`${name}: ok`);
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    await browser.close();
    server.close();
  }
  process.exit(failed ? 1 : 0);
}
