// The mirl API in a Web Worker, so a restore never blocks the page. Same methods as
// `Restorer` in mirl.js; the image is copied to the worker and the result transferred back.
//
//   import { WorkerRestorer } from 'mirl/worker';
//   const restorer = await WorkerRestorer.create();
//   const clean = await restorer.restore(imageData, { onProgress: (done, total) => {} });

import { abortError, mirlError } from './errors.js';
import { readImage, wasmPaths } from './mirl.js';
import { WorkerClient } from './rpc.js';

const freed = () => mirlError('FREED', 'this WorkerRestorer has been freed');

export class WorkerRestorer {
  #client;
  #backend;
  #info;
  #started = false;

  constructor() {
    this.#client = new WorkerClient(wasmPaths(), (e) => {
      // Before it has started, an error means the worker could not load. After, it reports an
      // exception that escaped a task (a panic's trap, which the worker's Restorer recovers
      // from): the worker lives on and still answers every call.
      if (!this.#started) this.#client?.failAll(mirlError('WORKER_FAILED', `the mirl worker failed: ${e.message}`));
    });
  }

  #call(method, args, options) {
    if (!this.#client) return Promise.reject(freed());
    return this.#client.call(method, args, options);
  }

  /** Starts a module worker and loads the ticket there; options as `Restorer.create`. */
  static async create(options = {}) {
    const restorer = new WorkerRestorer();
    try {
      const { backend, info } = await restorer.#call('create', [options]);
      restorer.#backend = backend;
      restorer.#info = info;
      restorer.#started = true;
    } catch (e) {
      restorer.free();
      throw e;
    }
    return restorer;
  }

  /** 'webgpu' or 'cpu'. */
  get backend() {
    return this.#backend;
  }

  info() {
    return this.#info;
  }

  /**
   * As `Restorer.restore`: resolves to an ImageData; onProgress, onPlan and signal work the
   * same, and every other option goes to the worker as it is.
   */
  async restore(image, options = {}) {
    const { onProgress, onPlan, signal, ...rest } = options;
    if (signal?.aborted) throw abortError();
    const { imageData: input, jpeg } = await readImage(image);
    if (jpeg && rest.jpeg === undefined) rest.jpeg = jpeg;
    const promise = this.#call('restore', [input, rest], { onProgress, onPlan });
    const onAbort = () => this.#client?.notify('abort', [promise.id]);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      const { image: out, backend, info } = await promise;
      this.#backend = backend;
      this.#info = info;
      return out;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** As `degrade` in mirl.js, in the worker. */
  degrade(imageData, kind, seed = 0) {
    return this.#call('degrade', [imageData, kind, seed]);
  }

  /** As `compare` in mirl.js, in the worker: resolves to { psnr, ssim }. */
  compare(reference, test) {
    return this.#call('compare', [reference, test]);
  }

  /** As `wasmMemoryBytes` in mirl.js, for the worker's copy of the module. */
  wasmMemoryBytes() {
    return this.#call('memory', []);
  }

  /** Stops the worker. Later calls reject. */
  free() {
    this.#client?.terminate(freed());
    this.#client = null;
  }
}
