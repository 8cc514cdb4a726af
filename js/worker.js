// The module worker behind `mirl-worker.js`: runs the mirl API off the page's main thread.
import { errorMessage, mirlError } from './errors.js';
import { Restorer, compare, degrade, default as init, setWasmPaths, tileEngine, wasmMemoryBytes } from './mirl.js';

let restorer = null;
// In a worker of a `TilePool` (pool.js): the engine that runs its tiles.
let engine = null;
const aborts = new Map();

// The first call carries the page's `setWasmPaths` folder (or null), before any core loads.
let configured = false;

self.onmessage = async ({ data: { id, method, args, wasmPaths } }) => {
  try {
    if (!configured) {
      configured = true;
      if (wasmPaths) setWasmPaths(wasmPaths);
    }
    let result;
    if (method === 'create') {
      restorer?.free();
      restorer = await Restorer.create(args[0]);
      result = { backend: restorer.backend, info: restorer.info() };
    } else if (method === 'restore') {
      const controller = new AbortController();
      aborts.set(id, controller);
      const [image, options] = args;
      result = await restorer.restore(image, {
        ...options,
        signal: controller.signal,
        onProgress: (done, total) => self.postMessage({ id, progress: [done, total] }),
        onPlan: (plan) => self.postMessage({ id, plan }),
      });
      result = { image: result, backend: restorer.backend, info: restorer.info() };
    } else if (method === 'abort') {
      aborts.get(args[0])?.abort();
      return;
    } else if (method === 'degrade') {
      await init();
      result = degrade(...args);
    } else if (method === 'compare') {
      await init();
      result = compare(...args);
    } else if (method === 'memory') {
      await init();
      result = wasmMemoryBytes();
    } else if (method === 'engine') {
      engine?.free();
      engine = await tileEngine(args[0]);
    } else if (method === 'tile') {
      result = await engine.run(...args);
    } else if (method === 'free') {
      restorer?.free();
      restorer = null;
    } else {
      throw mirlError('INVALID_INPUT', `unknown method ${method}`);
    }
    const transfer =
      result instanceof Float32Array ? [result.buffer]
      : result?.image ? [result.image.data.buffer]
      : result?.data ? [result.data.buffer]
      : [];
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    self.postMessage({ id, error: errorMessage(e) });
  } finally {
    aborts.delete(id);
  }
};
