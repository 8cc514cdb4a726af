// The package as a page uses it, in headless Chromium: import pkg/mirl.js, create a Restorer
// with no options, restore a noisy photo on WebGPU and with backend 'cpu', check the result is
// cleaner, the errors are clear, and no request leaves for anything but the page's own files.
// Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageTestInputs, pageTest, repo } from './browsers.mjs';

const { photos, photo } = packageTestInputs();

await pageTest('api.test', { '/pkg/': join(repo, 'pkg'), '/wasm/': join(repo, 'pkg'), '/test/': join(repo, 'tests/browser'), '/photos/': photos }, async ({ page, url, requests }) => {
  await page.goto(`${url}/test/api.html`);
  await page.waitForFunction(() => window.ready === true);

  for (const backend of [undefined, 'cpu']) {
    const r = await page.evaluate(([u, b]) => window.restoreNoisyPhoto(u, b), [`/photos/${photo}`, backend]);
    const label = backend ?? 'default (auto)';
    console.log(`${label}: ran on ${r.backend}, ${r.progress.length} tiles in ${r.ms.toFixed(0)} ms, ` +
      `PSNR noisy ${r.noisy.toFixed(2)} dB -> restored ${r.restored.toFixed(2)} dB`);
    assert.equal(r.backend, backend ?? 'webgpu', `${label} should run on ${backend ?? 'webgpu'}`);
    assert.deepEqual(r.size, [128, 96]);
    assert.ok(r.restored > r.noisy + 1, `${label}: restored ${r.restored} vs noisy ${r.noisy}`);
    assert.deepEqual(r.progress.at(-1), [r.progress.length, r.progress.length]);
    assert.ok(r.info.parameters > 0 && r.info.density > 0 && r.info.density <= 1);
    assert.equal(r.info.file_bytes, 142_857, 'info() gives the ticket file\'s size');
    assert.equal(r.info.format_version, 1);
  }

  const w = await page.evaluate((u) => window.viaWorker(u), `/photos/${photo}`);
  console.log(`WorkerRestorer: ran on ${w.backend}, PSNR noisy ${w.noisy.toFixed(2)} dB -> restored ${w.restored.toFixed(2)} dB; aborted: ${w.aborted}`);
  assert.equal(w.backend, 'cpu');
  assert.ok(w.restored > w.noisy + 1);
  assert.equal(w.progress.length, 6);
  assert.equal(w.aborted, 'AbortError');

  // tasks and onPlan: a clean photo comes back as it was, a noisy one has its noise found and
  // removed; what is asked for is removed; options reach the worker.
  const t = await page.evaluate((u) => window.tasks(u), `/photos/${photo}`);
  console.log(`tasks: clean ${JSON.stringify(t.cleanAuto.plan)}; noisy ${JSON.stringify(t.noisyAuto.plan)}`);
  assert.equal(t.cleanAuto.unchanged, true, 'auto leaves a clean photo as it was');
  assert.deepEqual(t.cleanAuto.plan.tasks, []);
  assert.equal(t.cleanAuto.plan.auto, true);
  assert.deepEqual(t.noisyAuto.plan.tasks, ['noise']);
  // σ 25 added to 8-bit values and clipped: a little less is left to read.
  assert.ok(t.noisyAuto.plan.findings.noiseSigma > 18 && t.noisyAuto.plan.findings.noiseSigma < 27, `σ read ${t.noisyAuto.plan.findings.noiseSigma}`);
  assert.equal(t.noisyAuto.plan.heldBack, false);
  assert.ok(t.noisyAuto.psnr > t.noisy + 1, `auto: ${t.noisyAuto.psnr} vs noisy ${t.noisy}`);
  assert.deepEqual(t.noisyAsked.plan.tasks, ['noise', 'haze']);
  assert.equal(t.noisyAsked.plan.auto, false);
  assert.equal(t.noisyNone.unchanged, true);
  assert.deepEqual(t.workerAuto.plan.tasks, ['noise']);
  assert.ok(Math.abs(t.workerAuto.psnr - t.noisyAuto.psnr) < 1e-9, 'the worker restores as this thread does');
  assert.equal(t.workerNone.unchanged, true, 'tasks reach the worker');
  assert.match(t.badTasks, /unknown task "blur"/);

  const j = await page.evaluate((u) => window.jpegFiles(u), `/photos/${photo}`);
  console.log(`JPEG files: ${JSON.stringify({ ...j.file.jpegFile, tables: '...' })}, removed ${j.file.tasks}; png ${JSON.stringify(j.png.jpegFile)}`);
  for (const [what, p] of [['File', j.file], ['bytes', j.bytes], ['worker', j.worker]]) {
    assert.ok(p.jpegFile && Math.abs(p.jpegFile.quality - 30) <= 3, `${what}: ${JSON.stringify(p.jpegFile)}`);
    assert.equal(p.jpegFile.fullChroma, false, `${what}: 4:2:0`);
    assert.equal(p.jpegFile.tables?.luma.flat().length, 64, `${what}: the luma table`);
    assert.ok(p.tasks.includes('jpeg'), `${what}: removes JPEG`);
    assert.deepEqual(p.size, [128, 96]);
    assert.equal(p.ticket?.ticket, 'osn', `${what}: a JPEG goes to the OSN ticket`);
  }
  assert.equal(j.png.jpegFile, null);
  assert.equal(j.png.ticket?.ticket, 'allinone', 'a clean PNG goes to the all-in-one ticket');
  const r = j.reshare;
  console.log(`a re-shared JPEG File (q 85, shrunk, q 70): ${r.plan.ticket.ticket} ticket (${r.plan.ticket.why}), ` +
    `PSNR received ${r.received.toFixed(2)} -> restored ${r.restored.toFixed(2)} dB`);
  assert.equal(r.plan.ticket.ticket, 'osn');
  assert.equal(r.ticket, 'osn', "info() names the last restore's ticket");
  assert.ok(r.restored > r.received + 0.1, `re-share: ${r.received} -> ${r.restored} dB`);
  assert.equal(j.unreadable.jpegFile, null, 'an unreadable header is left out');
  assert.ok(j.warnings.some((w) => /invalid JPEG file/.test(w)), `warned: ${j.warnings}`);
  assert.match(j.notBytes, /jpeg must be the JPEG file's bytes/);

  // Orientation: a phone's JPEG, tagged 1, 3, 6 or 8, comes back as the browser shows it, with
  // the gain of the unturned file (the restore works on the file's grid).
  const turned = await page.evaluate((u) => window.turnedJpegs(u), `/photos/${photo}`);
  for (const t of turned) {
    console.log(`orientation ${t.o}, ${t.size.join('x')} stored, ${t.restorer}: shown ${t.shown.join('x')}, gain ${t.gain.toFixed(3)} dB`);
    assert.deepEqual(t.shown, t.uprightSize, `the browser turns orientation ${t.o}`);
    assert.deepEqual(t.restoredSize, t.shown, 'the result is as the photo is shown');
    const unturned = turned.find((u) => u.o === 1 && u.restorer === t.restorer && u.size.join() === t.size.join());
    assert.ok(unturned.gain > 0.3, `quality 30 is restored: ${unturned.gain}`);
    assert.ok(Math.abs(t.gain - unturned.gain) <= 0.05, `orientation ${t.o}: ${t.gain} against ${unturned.gain}`);
  }

  const e = await page.evaluate(() => window.errors());
  console.log('errors:', e);
  // Each error has a code to branch on, through a worker too, and a message naming the problem.
  assert.match(e.notAnImage, /^Error \[NOT_AN_IMAGE\]: .*not an image/);
  assert.match(e.empty, /^Error \[EMPTY_IMAGE\]: .*empty/);
  assert.match(e.tooLarge, /^Error \[IMAGE_TOO_LARGE\]: .*limit is 32 megapixels/);
  assert.match(e.badTicket, /^Error \[INVALID_TICKET\]: invalid ticket/);
  assert.match(e.workerBadTicket, /^Error \[INVALID_TICKET\]: invalid ticket/);
  assert.match(e.badThreads, /^Error \[INVALID_OPTION\]: options\.threads/);
  assert.match(e.badTasks, /^Error \[INVALID_INPUT\]: .*unknown task "blur"/);
  assert.match(e.lateWasmPaths, /^Error \[INVALID_OPTION\]: setWasmPaths must come before/);
  assert.match(e.aborted, /^AbortError/);
  assert.equal(e.stillWorks, true);
  assert.equal(e.pooled, true);
  assert.match(e.afterFree, /^Error \[FREED\]: .*freed/);
  assert.deepEqual(e.maxPixels, [32_000_000, 32_000_000], 'MAX_PIXELS is the core\'s limit');

  const own = new Set(requests.map((p) => p.replace(/\?.*$/, '')));
  // setWasmPaths: the cores (the page's, its tile pool's and its WorkerRestorers') from /wasm/.
  assert.deepEqual([...own].filter((p) => p.endsWith('.wasm')).sort(), ['/wasm/mirl_core_bg.wasm', '/wasm/mirl_gpu_bg.wasm']);
  const unexpected = [...own].filter((p) => !/^\/(pkg\/((mirl|mirl-worker|errors|rpc|pool|worker)\.js|mirl_core\.js|mirl_gpu\.js)|wasm\/(mirl_core_bg|mirl_gpu_bg)\.wasm|test\/(api\.html|pages\.js)|photos\/.*|favicon\.ico)$/.test(p));
  assert.deepEqual(unexpected, [], 'the library fetched something besides its own files');
});
