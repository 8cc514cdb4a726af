// `npm install ./pkg` into a fresh folder and a one-file Vite build that imports the package
// (main entry and worker) must work, and a typed page (usage.ts) must check against the
// package's declarations under `tsc --strict`. Needs pkg/ (bash scripts/build-pkg.sh) and npm.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'mirl-vite-'));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
try {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--silent', join(repo, 'pkg'), 'vite@8', 'typescript@5']);
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><canvas id="out"></canvas><script type="module">
import { Restorer } from 'mirl';
import { WorkerRestorer } from 'mirl/worker';
const restorer = await Restorer.create();
const clean = await restorer.restore(new ImageData(32, 32));
document.getElementById('out').getContext('2d').putImageData(clean, 0, 0);
console.log(restorer.backend, restorer.info(), WorkerRestorer);
</script>`,
  );
  const out = run('npx', ['vite', 'build', '--logLevel', 'warn']);
  const assets = readdirSync(join(dir, 'dist/assets'));
  const wasm = assets.find((f) => f.endsWith('.wasm'));
  assert.ok(wasm, `no wasm in the Vite build: ${assets.join(', ')} ${out}`);
  assert.ok(statSync(join(dir, 'dist/assets', wasm)).size > 1_000_000);
  const js = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dir, 'dist/assets', f), 'utf8')).join('\n');
  assert.ok(js.includes('Restorer'), 'the bundle lacks the API');
  console.log(`vite.test: the Vite build (${assets.join(', ')})`);
  // The declarations, the wasm-bindgen ones they sit on included (no skipLibCheck).
  copyFileSync(join(repo, 'tests/browser/usage.ts'), join(dir, 'usage.ts'));
  run('npx', ['tsc', '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler',
    '--lib', 'es2022,dom', 'usage.ts']);
  console.log('vite.test: usage.ts checks against the declarations (tsc --strict)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
