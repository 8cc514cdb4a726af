// The demo site (www/) end to end in a headless browser (Chromium; Firefox with
// MIRL_BROWSER=firefox): restore the small noisy sample on WebGPU (SwiftShader or lavapipe
// here) and with the CPU forced, check the restored canvas changed and
// scores better than the degraded one, then the paths a visitor takes: paste, a file that is
// not an image, an oversized file, a second restore cancelling the first, Cancel, the
// "degrade first" panel, and leaving mid-restore. No request may leave the page's origin.
// Screenshots go to $MIRL_E2E_OUT (default $CARGO_TARGET_DIR/e2e). Needs pkg/ (build-pkg.sh).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserName, pageTest } from './browsers.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
assert.ok(existsSync(join(repo, 'pkg/mirl.js')), 'pkg/ is missing: run bash scripts/build-pkg.sh');
const out = resolve(process.env.MIRL_E2E_OUT ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'e2e'));
mkdirSync(out, { recursive: true });

await pageTest('demo.test', { '/': join(repo, 'www'), '/pkg/': join(repo, 'pkg') }, async ({ page, url, requests }) => {
  const state = () => page.evaluate(() => document.body.dataset.state);
  const waitFor = (predicate, arg, timeout = 600_000) => page.waitForFunction(predicate, arg, { timeout, polling: 250 });
  // The end of the restore that `action` starts: the page counts the restores it finished
  // (data-restored), so an earlier restore's 'done' never passes for this one's. Where an
  // action starts two (the second cancels the first), `download` names the one to wait for.
  const restoreOf = async (action, { backend, download } = {}) => {
    const before = await page.evaluate(() => Number(document.body.dataset.restored ?? 0));
    await action();
    await waitFor(([n, b, d]) => {
      const s = document.body.dataset;
      return s.state === 'done' && Number(s.restored) > n && (!b || s.backend === b) &&
        (!d || document.getElementById('download').download === d);
    }, [before, backend, download]);
  };
  const result = () =>
    page.evaluate(() => {
      const pixels = (id) => { const c = document.getElementById(id); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; };
      const [a, b] = [pixels('before'), pixels('after')];
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
      const s = document.getElementById('scores');
      return {
        backend: document.body.dataset.backend,
        seconds: Number(document.body.dataset.seconds),
        status: document.getElementById('status').textContent,
        meanDiff: diff / a.length,
        scored: !s.hidden,
        psnrIn: Number(s.dataset.psnrIn), psnrOut: Number(s.dataset.psnrOut),
        ssimIn: Number(s.dataset.ssimIn), ssimOut: Number(s.dataset.ssimOut),
        download: document.getElementById('download').getAttribute('download'),
        href: document.getElementById('download').getAttribute('href'),
        message: document.getElementById('message').hidden ? null : document.getElementById('message').textContent,
        plan: document.getElementById('plan').hidden ? null : document.getElementById('plan').textContent,
        removed: document.getElementById('plan').dataset.removed,
        ticket: document.getElementById('plan').dataset.ticket,
        ticketUsed: document.getElementById('ticket').innerText,
      };
    });
  const sample = (label) => page.getByRole('button', { name: label }).click();
  // A dropped file: the bytes at `fromUrl`, a PNG drawn in the page (`canvas: [w, h]`: a
  // gradient with noise of σ 23 in each channel, so that `auto` has something to remove), or
  // `size` zero bytes.
  const drop = (spec) =>
    page.evaluate(async ({ name, type, size, fromUrl, canvas }) => {
      const drawn = async ([w, h]) => {
        const c = new OffscreenCanvas(w, h);
        const g = c.getContext('2d');
        const gradient = g.createLinearGradient(0, 0, w, h);
        gradient.addColorStop(0, '#234');
        gradient.addColorStop(1, '#fc8');
        g.fillStyle = gradient;
        g.fillRect(0, 0, w, h);
        const pixels = g.getImageData(0, 0, w, h);
        for (let i = 0; i < pixels.data.length; i++) if (i % 4 !== 3) pixels.data[i] += (Math.random() - 0.5) * 80;
        g.putImageData(pixels, 0, 0);
        return c.convertToBlob({ type: 'image/png' });
      };
      const body = fromUrl ? await (await fetch(fromUrl)).blob() : canvas ? await drawn(canvas) : new Uint8Array(size);
      const dt = new DataTransfer();
      dt.items.add(new File([body], name, { type }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, spec);
  const errorShown = () => waitFor(() => document.body.dataset.state === 'error', undefined, 30_000).then(result);

  await page.goto(`${url}/`);
  await waitFor(() => document.body.dataset.state === 'ready', undefined, 120_000);
  const facts = await page.locator('#ticket').innerText();
  console.log(`ticket facts: ${facts.replace(/\s*\n\s*/g, ' | ')}`);
  assert.match(facts, /Parameters\s+[\d,]+/);
  assert.match(facts, /Ticket\s+\d+ KB, f16/);

  // WebGPU: the default ('best available') in this browser.
  await restoreOf(() => sample('Portrait, noisy (small)'), { backend: 'webgpu' });
  const gpu = await result();
  console.log(`WebGPU: ${gpu.status} PSNR ${gpu.psnrIn.toFixed(2)} -> ${gpu.psnrOut.toFixed(2)} dB, SSIM ${gpu.ssimIn.toFixed(4)} -> ${gpu.ssimOut.toFixed(4)}`);
  assert.ok(gpu.meanDiff > 1, `the restored canvas should differ from the input (mean |diff| ${gpu.meanDiff})`);
  assert.ok(gpu.psnrOut > gpu.psnrIn + 1, `restored ${gpu.psnrOut} dB vs noisy ${gpu.psnrIn} dB`);
  assert.equal(gpu.download, 'astronaut-noisy-restored.png');
  assert.equal(gpu.removed, 'noise', `what auto found: ${gpu.plan}`);
  assert.equal(gpu.ticket, 'allinone', `noise goes to the all-in-one ticket: ${gpu.plan}`);
  assert.match(gpu.ticketUsed, /Ticket used\s+all-in-one/);
  assert.match(gpu.href, /^blob:/);
  await page.screenshot({ path: join(out, 'demo-webgpu.png'), fullPage: true });

  // CPU forced: switching the backend restores the same photo again.
  await restoreOf(() => page.getByLabel('CPU').check(), { backend: 'cpu' });
  const cpu = await result();
  console.log(`CPU: ${cpu.status} PSNR ${cpu.psnrIn.toFixed(2)} -> ${cpu.psnrOut.toFixed(2)} dB, SSIM ${cpu.ssimIn.toFixed(4)} -> ${cpu.ssimOut.toFixed(4)}`);
  assert.ok(cpu.meanDiff > 1);
  assert.ok(cpu.psnrOut > cpu.psnrIn + 1, `restored ${cpu.psnrOut} dB vs noisy ${cpu.psnrIn} dB`);
  assert.ok(Math.abs(cpu.psnrOut - gpu.psnrOut) < 0.05, `CPU ${cpu.psnrOut} and WebGPU ${gpu.psnrOut} should agree`);
  await page.locator('#split').fill('30');
  await page.screenshot({ path: join(out, 'demo-cpu-slider.png'), fullPage: true });
  await page.getByLabel('Side by side').check();
  await page.screenshot({ path: join(out, 'demo-cpu-side-by-side.png'), fullPage: true });
  await page.getByLabel('Before/after slider').check();

  // A file that is not an image, then one too large: a message, and the page keeps working.
  await drop({ name: 'notes.txt', type: 'text/plain', size: 64 });
  const notImage = await errorShown();
  console.log(`not an image: ${notImage.message}`);
  assert.match(notImage.message, /notes\.txt: .*not an image/);
  assert.equal(notImage.download, 'astronaut-noisy-restored.png', 'the last result stays');
  await drop({ name: 'huge.png', type: 'image/png', size: 101 * 1024 * 1024 });
  const huge = await errorShown();
  console.log(`too large: ${huge.message}`);
  assert.match(huge.message, /huge\.png is 101 MB; this page takes files up to 100 MB/);

  // Paste a photo: restored, with no clean original to score against. Firefox hands a
  // synthetic ClipboardEvent a copy of its DataTransfer without the files, so only Chromium
  // can paste from a script.
  if (browserName === 'chromium') {
    await restoreOf(() => page.evaluate(async () => {
      const blob = await (await fetch('samples/astronaut-noisy.png')).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'from-clipboard.png', { type: 'image/png' }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
    }), { download: 'from-clipboard-restored.png' });
    const pasted = await result();
    assert.equal(pasted.scored, false);
    assert.equal(pasted.message, null, 'a new photo clears the old message');
    assert.match(pasted.status, /No clean original/);
  }

  // A second restore cancels the first: only the second's result shows, with no error.
  await restoreOf(async () => {
    await sample('Cat, noisy');
    await sample('Coffee, re-shared (JPEG file)');
  }, { download: 'coffee-reshared-restored.png' });
  const second = await result();
  assert.equal(second.download, 'coffee-reshared-restored.png');
  assert.equal(second.message, null);
  console.log(`re-shared JPEG: ${second.plan} PSNR ${second.psnrIn.toFixed(2)} -> ${second.psnrOut.toFixed(2)} dB`);
  assert.equal(second.ticket, 'osn', `a JPEG file goes to the OSN ticket: ${second.plan}`);
  assert.match(second.ticketUsed, /Ticket used\s+OSN/);
  assert.ok(second.psnrOut > second.psnrIn + 0.5, `re-share: ${second.psnrIn} -> ${second.psnrOut} dB`);
  const size = await page.evaluate(() => [document.getElementById('after').width, document.getElementById('after').height]);
  assert.deepEqual(size, [240, 160]);

  // Cancel mid-restore: a photo large enough that its restore is still running, in any browser.
  await drop({ name: 'large.png', type: 'image/png', canvas: [2400, 1600] });
  await waitFor(() => document.body.dataset.state === 'restoring', undefined, 30_000);
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await state(), 'cancelled');
  await page.waitForTimeout(3000); // the cancelled run must not come back as 'done'
  assert.equal(await state(), 'cancelled');

  // Degrade first: a clean photo, damaged in the page, restored and scored against itself.
  await restoreOf(() => drop({ name: 'portrait.png', type: 'image/png', fromUrl: 'samples/astronaut.png' }), { download: 'portrait-restored.png' });
  // A clean photo needs nothing: auto shows it as it was.
  const untouched = await result();
  console.log(`clean photo: ${untouched.plan}`);
  assert.equal(untouched.removed, '');
  assert.equal(untouched.meanDiff, 0, 'the clean photo came back as it was');
  await page.getByLabel('Noise, σ').check();
  await restoreOf(() => page.getByRole('button', { name: 'Degrade and restore' }).click());
  assert.equal(await page.evaluate(() => document.getElementById('scores').hidden), false, 'a degraded photo is scored');
  const degraded = await result();
  console.log(`degrade first (noise 25): PSNR ${degraded.psnrIn.toFixed(2)} -> ${degraded.psnrOut.toFixed(2)} dB`);
  assert.ok(degraded.psnrIn > 19 && degraded.psnrIn < 22, `σ 25 noise should give about 20.5 dB, got ${degraded.psnrIn}`);
  assert.ok(degraded.psnrOut > degraded.psnrIn + 1);

  // A phone-sized window.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(out, 'demo-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 1000 });

  // Leaving mid-restore: the page reloads cleanly and works again.
  await sample('Cat, noisy');
  await page.reload();
  await waitFor(() => document.body.dataset.state === 'ready', undefined, 120_000);

  const own = [...new Set(requests)].filter((p) => !/^\/(index\.html|app\.js|style\.css|samples\/[\w-]+\.(png|jpg)|pkg\/((mirl|mirl-worker|errors|rpc|pool|worker)\.js|mirl_core\.js|mirl_core_bg\.wasm|mirl_gpu\.js|mirl_gpu_bg\.wasm))?$/.test(p));
  assert.deepEqual(own, [], 'the page fetched something unexpected');
  console.log(`screenshots: ${['demo-webgpu.png', 'demo-cpu-slider.png', 'demo-cpu-side-by-side.png', 'demo-phone.png'].map((f) => join(out, f)).join(', ')}`);
}, { viewport: { width: 1280, height: 1000 } });
