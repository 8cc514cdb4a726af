// Tiles on several workers (`threads`), in the browser on the CPU: the result must be
// byte-identical to one thread, progress must count every tile in order, an abort and a worker
// that dies mid-restore must reject clearly and leave the restorer usable. Prints both times.
// Needs pkg/ (bash scripts/build-pkg.sh) and ../shared/data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageTestInputs, pageTest, repo } from './browsers.mjs';

const { photos, photo } = packageTestInputs();

await pageTest('threads.test', { '/pkg/': join(repo, 'pkg'), '/test/': join(repo, 'tests/browser'), '/photos/': photos }, async ({ page, url }) => {
  await page.goto(`${url}/test/threads.html`);
  await page.waitForFunction(() => window.ready === true);
  const r = await page.evaluate((u) => window.threads(u), `/photos/${photo}`);
  console.log(JSON.stringify(r));
  assert.equal(r.infoOne, 1);
  assert.equal(r.infoTwo, 2);
  assert.ok(r.same, 'two workers should give the same bytes as one thread');
  assert.ok(r.restored > r.noisy + 1, `restored ${r.restored} dB vs noisy ${r.noisy} dB`);
  const total = r.progress.at(-1)[1];
  assert.ok(total > 4, `${total} tiles`);
  assert.deepEqual(r.progress, Array.from({ length: total }, (_, i) => [i + 1, total]));
  assert.match(r.aborted, /^AbortError/);
  assert.ok(r.afterAbortSame, 'a restore after an abort should work');
  assert.match(r.crashed, /mirl pool worker \d failed while restoring tile \d+: .*simulated crash/);
  assert.ok(r.afterCrashSame, 'a restore after a worker died should work');
  assert.match(r.badThreads, /options.threads must be 'auto' or a whole number/);
  console.log(`320x240 in 64-pixel tiles on the CPU: one thread ${r.msOne.toFixed(0)} ms, two workers ${r.msTwo.toFixed(0)} ms`);
});
