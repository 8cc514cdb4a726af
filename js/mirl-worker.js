// The mirl API in a Web Worker, so a restore never blocks the page. Same methods as
// `Restorer` in mirl.js; the image is copied to the worker and the result transferred back.
//
//   import { WorkerRestorer } from 'mirl/worker';
//   const restorer = await WorkerRestorer.create();
//   const clean = await restorer.restore(imageData, { onProgress: (done, total) => {} });

import { readImage } from './mirl.js';

export class WorkerRestorer {
  #worker;
  #next = 0;
  #pending = new Map();
  #backend;
  #info;
  #started = false;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const call = this.#pending.get(data.id);
      if (!call) return;
      if (data.progress) return call.onProgress?.(...data.progress);
      if (data.plan) return call.onPlan?.(data.plan);
      this.#pending.delete(data.id);
      if (data.error) {
        const { name, message } = data.error;
        call.reject(name === 'AbortError' ? new DOMException(message, name) : Object.assign(new Error(message), { name }));
      } else {
        call.resolve(data.result);
      }
    };
    worker.onerror = (e) => {
      // Before it has started, an error means the worker could not load. After, it reports an
      // exception that escaped a task (a panic's trap, which the worker's Restorer recovers
      // from): the worker lives on and still answers every call.
      if (this.#started) return;
      for (const call of this.#pending.values()) call.reject(new Error(`the mirl worker failed: ${e.message}`));
      this.#pending.clear();
    };
  }

  #call(method, args, extra = {}, transfer = []) {
    if (!this.#worker) return Promise.reject(new Error('this WorkerRestorer has been freed'));
    const id = this.#next++;
    return Object.assign(
      new Promise((resolve, reject) => {
        this.#pending.set(id, { resolve, reject, ...extra });
        this.#worker.postMessage({ id, method, args }, transfer);
      }),
      { id },
    );
  }

  /** Starts a module worker and loads the ticket there; options as `Restorer.create`. */
  static async create(options = {}) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    const restorer = new WorkerRestorer(worker);
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
    if (signal?.aborted) throw new DOMException('the restore was aborted', 'AbortError');
    const { imageData: input, jpeg } = await readImage(image);
    if (jpeg && rest.jpeg === undefined) rest.jpeg = jpeg;
    const promise = this.#call('restore', [input, rest], { onProgress, onPlan });
    const onAbort = () => this.#worker?.postMessage({ id: -1, method: 'abort', args: [promise.id] });
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
    if (!this.#worker) return;
    this.#worker.terminate();
    this.#worker = null;
    for (const call of this.#pending.values()) call.reject(new Error('this WorkerRestorer has been freed'));
    this.#pending.clear();
  }
}
