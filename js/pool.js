// A pool of module workers that restore tiles for a `Restorer` on the CPU: each worker holds
// its own instance of the CPU core and its own engine, so tiles run on as many cores as there
// are workers. The page's thread plans the tiles, hands each worker the next one, and blends
// the results in order. Tiles travel by postMessage (transferred, not copied), so this needs
// no SharedArrayBuffer and works in pages that are not cross-origin isolated.

import { mirlError } from './errors.js';
import { WorkerClient } from './rpc.js';

/** A tile's worker stopped answering: it failed while running, or could not start. */
function workerFailed(index, tile, message) {
  const what = tile === null ? 'failed to start' : `failed while restoring tile ${tile}`;
  return mirlError('WORKER_FAILED', `mirl pool worker ${index + 1} ${what}: ${message}`);
}

class PoolWorker {
  #index;
  #source;
  #client = null;
  #ready = null;
  #idle = Promise.resolve();
  /** The tile this worker is restoring, or null. */
  tile = null;

  #wasmPaths;

  constructor(index, source, wasmPaths) {
    this.#index = index;
    this.#source = source;
    this.#wasmPaths = wasmPaths;
  }

  /** Starts the worker and its engine, once (again after a failure). */
  start() {
    if (this.#ready) return this.#ready;
    // An exception that escapes the worker (a crash, a trap outside a call) or a message it
    // cannot read: whatever it was doing will never answer. The restore's rejection reports
    // it, so it is not reported again as an uncaught error of the page (as Firefox would).
    this.#client = new WorkerClient(this.#wasmPaths, (e) => {
      e.preventDefault();
      this.#client?.failAll(workerFailed(this.#index, this.tile, e.message || 'the worker stopped'));
      this.stop();
    });
    this.#ready = this.#client.call('engine', [this.#source]);
    this.#ready.catch(() => {});
    return this.#ready;
  }

  /**
   * Restores tile `i` (its input, `height` x `width`); resolves to its output. Tiles queue
   * behind the one in hand, which may be left over from a restore that failed elsewhere.
   */
  async run(i, input, height, width) {
    const previous = this.#idle;
    let done;
    this.#idle = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      this.tile = i;
      await this.start();
      return await this.#client.call('tile', [input, height, width], { transfer: [input.buffer] });
    } finally {
      this.tile = null;
      done();
    }
  }

  /** Terminates the worker; the next `start` makes a fresh one. */
  stop() {
    this.#client?.terminate(workerFailed(this.#index, this.tile, 'the pool was stopped'));
    this.#client = null;
    this.#ready = null;
  }
}

export class TilePool {
  #workers;

  /**
   * `size` workers, each with an engine for `source` (as `tileEngine` in mirl.js takes it),
   * fetching the core from `wasmPaths` (`setWasmPaths`; null: beside the module).
   */
  static async create(source, size, wasmPaths) {
    const pool = new TilePool();
    pool.#workers = Array.from({ length: size }, (_, i) => new PoolWorker(i, source, wasmPaths));
    try {
      await Promise.all(pool.#workers.map((w) => w.start()));
    } catch (e) {
      pool.free();
      throw e;
    }
    return pool;
  }

  get size() {
    return this.#workers.length;
  }

  /**
   * Runs every tile of `job` (a `Job` of the page's CPU core) on the workers, blending each
   * result in order. `shouldStop()` is asked after each tile; a truthy answer is thrown.
   */
  run(job, onProgress, shouldStop) {
    const total = job.tiles;
    if (total === 0) return Promise.resolve(); // nothing to remove: no tile runs
    const [height, width] = [job.tileHeight, job.tileWidth];
    const outputs = new Map();
    let [next, blended, failed] = [0, 0, false];
    return new Promise((resolve, reject) => {
      const fail = (e) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const feed = (worker) => {
        if (failed) return;
        if (next === total) return;
        const i = next++;
        worker.run(i, job.tileInput(i), height, width).then((output) => {
          if (failed) return;
          outputs.set(i, output);
          try {
            while (outputs.has(blended)) {
              job.addTileOutput(blended, outputs.get(blended));
              outputs.delete(blended);
              blended += 1;
              onProgress?.(blended, total);
            }
            const stop = shouldStop();
            if (stop) return fail(stop);
          } catch (e) {
            return fail(e);
          }
          if (blended === total) resolve();
          else feed(worker);
        }, fail);
      };
      for (const worker of this.#workers) feed(worker);
    });
  }

  free() {
    for (const worker of this.#workers) worker.stop();
  }
}
