// Load in the browser: a 12-megapixel photo through WorkerRestorer with no options
// (memory recorded: the worker's wasm memory and the page's peak resident memory), a
// 32-megapixel photo far enough to reach its steady memory, and six restores at once on two
// workers with one cancelled. Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserName, packageTestInputs, pageTest, repo } from './browsers.mjs';

const { photos, photo: name } = packageTestInputs();
const photo = `/photos/${name}`;
const MB = 2 ** 20;

/** How the browser's content processes (the page and its workers) are told from the others. */
const RENDERER = { chromium: 'type=renderer', firefox: 'contentproc' }[browserName];

/** Resident memory of all the browser's content processes together, in bytes. */
function rendererMemory() {
  let pids = [];
  try {
    pids = execFileSync('pgrep', ['-f', RENDERER], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return 0;
  }
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) total += Number(kb[1]) * 1024;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** Runs `f` while sampling the renderers' memory every 100 ms; resolves to [result, peak bytes]. */
async function withPeak(f) {
  let peak = rendererMemory();
  const timer = setInterval(() => { peak = Math.max(peak, rendererMemory()); }, 100);
  try {
    const result = await f();
    return [result, Math.max(peak, rendererMemory())];
  } finally {
    clearInterval(timer);
  }
}

await pageTest('load.test', { '/pkg/': join(repo, 'pkg'), '/test/': join(repo, 'tests/browser'), '/photos/': photos }, async ({ page, url, requests }) => {
  page.setDefaultTimeout(0);
  await page.goto(`${url}/test/load.html`);
  await page.waitForFunction(() => window.ready === true);

  const many = await page.evaluate((u) => window.manyAtOnce(u), photo);
  console.log(`six restores at once on two workers: ${many.join(', ')}`);
  assert.deepEqual(many, ['same', 'AbortError', 'same', 'same', 'same', 'same']);

  const [big, bigPeak] = await withPeak(() => page.evaluate(([u]) => window.bigPhoto(u, 4000, 3000), [photo]));
  console.log(`4000x3000 on the CPU with no options: ${big.last[1]} tiles in ${(big.ms / 1000).toFixed(0)} s, ` +
    `PSNR ${big.noisy.toFixed(2)} -> ${big.restored.toFixed(2)} dB; wasm memory ${(big.wasmBefore / MB).toFixed(0)} MiB before, ` +
    `${(big.wasmPeak / MB).toFixed(0)} MiB at most; the page's peak resident memory (renderers, sampled) ${(bigPeak / MB).toFixed(0)} MiB`);
  assert.equal(big.error, null);
  assert.deepEqual(big.size, [4000, 3000]);
  assert.deepEqual(big.last, [big.last[1], big.last[1]]);
  assert.ok(big.restored > big.noisy + 3, `restored ${big.restored} vs noisy ${big.noisy}`);
  assert.ok(big.wasmPeak < 1024 * MB, `wasm memory ${big.wasmPeak}`);

  // 32 megapixels: the first row of tiles and one more reach the steady state of memory.
  const [huge, hugePeak] = await withPeak(() => page.evaluate(([u]) => window.bigPhoto(u, 8000, 4000, 20), [photo]));
  console.log(`8000x4000, stopped after 20 of ${huge.last[1]} tiles: wasm memory ${(huge.wasmPeak / MB).toFixed(0)} MiB; ` +
    `the page's peak resident memory ${(hugePeak / MB).toFixed(0)} MiB`);
  assert.equal(huge.error, 'AbortError');
  assert.ok(huge.wasmPeak < 1024 * MB, `wasm memory ${huge.wasmPeak}`);

  // Only the CPU ran: the page never fetched the WebGPU core.
  const gpu = requests.filter((p) => /mirl_gpu/.test(p));
  assert.deepEqual(gpu, [], 'a CPU-only page should not fetch the WebGPU core');
});
