// A lost GPU: in headless Chromium (WebGPU on SwiftShader), destroy the GPUDevice that the
// library uses after the first tile of a restore. The restore must finish on the CPU with the
// right result, later restores (and a CPU restorer made before the loss) must work, and
// `backend` must say 'cpu'. Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageTestInputs, pageTest, repo } from './chromium.mjs';

const { photos, photo } = packageTestInputs();

// burn's WebGPU backend panics when a read-back fails: that panic, and the trap it ends in,
// are expected here, once.
const expected = /Failed to map buffer|unreachable/;

await pageTest('gpu-loss.test', { '/pkg/': join(repo, 'pkg'), '/test/': join(repo, 'tests/browser'), '/photos/': photos }, async ({ page, url, log }) => {
  await page.goto(`${url}/test/gpu-loss.html`);
  await page.waitForFunction(() => window.ready === true);
  const r = await page.evaluate((u) => window.loseDevice(u), `/photos/${photo}`);
  console.log(JSON.stringify(r));
  assert.equal(r.devices, 1, 'the library should have asked for one GPUDevice');
  assert.equal(r.before, 'webgpu');
  assert.equal(r.after, 'cpu', 'backend should tell the truth after the loss');
  assert.deepEqual(r.size, [64, 48]);
  assert.ok(r.restored > r.noisy + 1, `restored ${r.restored} dB vs noisy ${r.noisy} dB`);
  assert.deepEqual(r.progress.at(-1), [r.progress.at(-1)[1], r.progress.at(-1)[1]], 'progress should reach the end');
  assert.ok(r.againSame, 'a later restore on the same restorer should give the same result (CPU)');
  assert.ok(r.cpuRestorerSame, 'a CPU restorer made before the loss should still work');
  assert.equal(r.laterBackend, 'cpu', "a later 'auto' restorer should use the CPU");
  assert.match(r.webgpuRefused, /WebGPU has failed in this page/);
  assert.ok(r.memory > 0);
  const panics = log.filter((l) => /^error: panicked at/.test(l));
  assert.equal(panics.length, 1, `one panic expected:\n${panics.join('\n')}`);
  assert.match(panics[0], /Failed to map buffer/);
  assert.ok(log.some((l) => /^warning: mirl: WebGPU failed .*starting again on the CPU/s.test(l)), 'the fallback should be announced');

  // In a worker: keep the GPUDevice the worker uses (any device that encodes commands) and
  // destroy it after the first tile.
  const workers = [];
  page.on('worker', (w) => workers.push(w));
  await page.exposeFunction('keepWorkerDevice', () => Promise.all(workers.map((w) => w.evaluate(() => {
    const encode = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (...args) {
      self.keptDevice = this;
      return encode.apply(this, args);
    };
  }))));
  await page.exposeFunction('destroyWorkerDevice', () => Promise.all(workers.map((w) => w.evaluate(() => self.keptDevice?.destroy()))));
  const w = await page.evaluate((u) => window.loseWorkerDevice(u), `/photos/${photo}`);
  console.log(`WorkerRestorer: ${JSON.stringify(w)}`);
  assert.equal(w.before, 'webgpu');
  assert.equal(w.after, 'cpu');
  assert.ok(Math.abs(w.restored - r.restored) < 1e-9, 'the worker should give the same result as the page');
  assert.ok(Math.abs(w.again - r.restored) < 1e-9);
  assert.equal(log.filter((l) => /^worker error: panicked at/.test(l)).length, 1, 'one panic in the worker');
}, {}, { expectedErrors: expected });
