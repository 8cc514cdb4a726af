// Calls into a module worker running worker.js, by message: a call posts { id, method, args }
// and settles when the worker answers { id, result } or { id, error }; the worker's
// { id, progress } and { id, plan } messages go to the call's listeners before that. The
// Restorer in a worker (mirl-worker.js) and each worker of a tile pool (pool.js) talk this way.
// Every call carries the page's `setWasmPaths` folder, which the worker applies at the first.

import { errorFrom } from './errors.js';

export class WorkerClient {
  #worker;
  #next = 0;
  #pending = new Map();
  #wasmPaths;

  /**
   * Starts the worker; `wasmPaths` is the page's `setWasmPaths` folder (or null). `onError(event)` hears an exception that escaped the worker or a
   * message it could not read: whether the calls in flight will ever answer is the caller's
   * to judge (`failAll` rejects them).
   */
  constructor(wasmPaths, onError) {
    this.#wasmPaths = wasmPaths;
    this.#worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }) => {
      const call = this.#pending.get(data.id);
      if (!call) return;
      if (data.progress) return call.onProgress?.(...data.progress);
      if (data.plan) return call.onPlan?.(data.plan);
      this.#pending.delete(data.id);
      if (data.error) call.reject(errorFrom(data.error));
      else call.resolve(data.result);
    };
    this.#worker.onerror = onError;
    this.#worker.onmessageerror = onError;
  }

  /**
   * Calls `method(...args)` in the worker; `transfer` moves buffers rather than copying them,
   * `onProgress` and `onPlan` hear the call's progress. The promise carries the call's `id`.
   */
  call(method, args, { transfer = [], onProgress, onPlan } = {}) {
    const id = this.#next++;
    const promise = new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress, onPlan });
      this.#worker.postMessage({ id, method, args, wasmPaths: this.#wasmPaths }, transfer);
    });
    return Object.assign(promise, { id });
  }

  /** Posts a call that answers nothing (an abort, for one). */
  notify(method, args) {
    this.#worker.postMessage({ id: -1, method, args });
  }

  /** Rejects every call in flight with `error`. */
  failAll(error) {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  /** Stops the worker; the calls in flight reject with `error`. */
  terminate(error) {
    this.#worker.terminate();
    this.failAll(error);
  }
}
