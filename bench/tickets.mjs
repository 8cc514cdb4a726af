// Two tickets side by side on the CPU in one headless Chromium page: the same noisy photo
// crops, warm restores alternating between the two restorers, and the median of each, per
// megapixel, with their ratio. A ticket is a .mirl file or a bundled one by name (allinone,
// osn). A pruned ticket against its dense round 0 says what the pruning saves in time (where
// a 1x1 convolution's weight is sparse enough the CPU core runs it from the non-zeros,
// src/ops/backend.rs); the OSN ticket against the all-in-one, what picking it costs.
//   node bench/tickets.mjs --a A.mirl|allinone|osn --b B.mirl|allinone|osn [--sizes 256,512] [--runs 5]
// Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data (or $MIRL_SHARED).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch, packageTestInputs } from '../tests/browser/browsers.mjs';
import { serve } from '../scripts/serve.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string' }, sizes: { type: 'string', default: '256,512' }, runs: { type: 'string', default: '5' } },
});
const BUNDLED = ['allinone', 'osn'];
const tickets = { a: args.a, b: args.b };
for (const [role, path] of Object.entries(tickets)) {
  assert.ok(path, `--${role} T.mirl (or allinone, osn) is required`);
  assert.ok(BUNDLED.includes(path) || existsSync(path), `--${role}: no such ticket: ${path}`);
}
const sizes = args.sizes.split(',').map(Number);
assert.ok(sizes.every((s) => Number.isInteger(s) && s >= 8), `--sizes must be whole numbers of pixels: ${sizes}`);
const runs = Number(args.runs);
assert.ok(Number.isInteger(runs) && runs > 0, '--runs must be a whole number above 0');

const { photos, photo } = packageTestInputs();
const mounts = {
  '/pkg/': join(repo, 'pkg'),
  '/bench/': join(repo, 'bench'),
  '/test/': join(repo, 'tests/browser'),
  '/photos/': photos,
};
// Each ticket file's folder, served so that the page can fetch it; a bundled name as it is.
const ticketUrl = {};
for (const [role, path] of Object.entries(tickets)) {
  if (BUNDLED.includes(path)) {
    ticketUrl[role] = path;
  } else {
    mounts[`/${role}/`] = dirname(resolve(path));
    ticketUrl[role] = `/${role}/${basename(path)}`;
  }
}
const { server, url } = await serve(mounts);
const browser = await launch();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  await page.goto(`${url}/bench/browser.html`);
  const r = await page.evaluate(async ([a, b, bundled, photoUrl, sizes, runs]) => {
    const { photo } = await import('/test/pages.js');
    const { default: init, Restorer, degrade } = await import('/pkg/mirl.js');
    await init();
    const ticket = async (u) => (bundled.includes(u) ? u : new Uint8Array(await (await fetch(u)).arrayBuffer()));
    const restorers = {
      a: await Restorer.create({ backend: 'cpu', ticket: await ticket(a) }),
      b: await Restorer.create({ backend: 'cpu', ticket: await ticket(b) }),
    };
    const rows = [];
    for (const size of sizes) {
      const noisy = degrade(await photo(photoUrl, size, size, { scale: true }), 'noise:25', 1);
      const times = { a: [], b: [] };
      // One restore each to warm up, then alternating, so that both see the same machine.
      for (const r of Object.values(restorers)) await r.restore(noisy, { tasks: 'all' });
      for (let i = 0; i < runs; i++) {
        for (const [name, r] of Object.entries(restorers)) {
          const t0 = performance.now();
          await r.restore(noisy, { tasks: 'all' });
          times[name].push(performance.now() - t0);
        }
      }
      rows.push({ size, times });
    }
    const info = Object.fromEntries(Object.entries(restorers).map(([k, r]) => [k, r.info()]));
    return { rows, info };
  }, [ticketUrl.a, ticketUrl.b, BUNDLED, `/photos/${photo}`, sizes, runs]);

  for (const [role, i] of Object.entries(r.info)) {
    console.log(`${role}: ${tickets[role]}: ${i.config.dim} channels, ${i.parameters} parameters, ` +
      `${i.nonzero} non-zero (${(100 * i.density).toFixed(1)}%; prunable ${(100 * i.prunable_density).toFixed(1)}%)`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log('| size | A median ms | B median ms | A ms per MP | B ms per MP | B / A |');
  console.log('|---|---|---|---|---|---|');
  for (const { size, times } of r.rows) {
    const [a, b] = [median(times.a), median(times.b)];
    const mp = (size * size) / 1e6;
    console.log(`| ${size}x${size} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(a / mp).toFixed(0)} | ${(b / mp).toFixed(0)} | ${(b / a).toFixed(2)} |`);
  }
} finally {
  await browser.close();
  server.close();
}
