// A lost GPU: in the browser (WebGPU on SwiftShader in Chromium, on lavapipe in Firefox),
// destroy the GPUDevice that the library uses after the first tile of a restore. The restore must finish on the CPU with the
// right result, later restores (and a CPU restorer made before the loss) must work, and
// `backend` must say 'cpu'. Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageTestInputs, pageTest, repo } from './browsers.mjs';

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
  // The page's console so far; what follows is the worker's part.
  const pageLog = log.slice();
  const panics = pageLog.filter((l) => /^error: panicked at/.test(l));
  assert.equal(panics.length, 1, `one panic expected:\n${panics.join('\n')}`);
  assert.match(panics[0], /Failed to map buffer/);
  assert.ok(pageLog.some((l) => /^warning: mirl: WebGPU failed .*starting again on the CPU/s.test(l)), 'the fallback should be announced');

  // In a worker: the page destroys the worker's device after the first tile (gpu-loss.html).
  const w = await page.evaluate((u) => window.loseWorkerDevice(u), `/photos/${photo}`);
  console.log(`WorkerRestorer: ${JSON.stringify(w)}`);
  assert.equal(w.before, 'webgpu');
  assert.equal(w.after, 'cpu');
  assert.ok(Math.abs(w.restored - r.restored) < 1e-9, 'the worker should give the same result as the page');
  assert.ok(Math.abs(w.again - r.restored) < 1e-9);
  const workerPanics = log.slice(pageLog.length).filter((l) => /^(worker )?error: panicked at/.test(l));
  assert.equal(workerPanics.length, 1, `one panic in the worker expected:\n${workerPanics.join('\n')}`);
}, {}, { expectedErrors: expected });
