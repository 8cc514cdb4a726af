// mirl: restore photos in the browser with a pruned PromptIR "winning ticket", on WebGPU when
// the browser has it and on the CPU otherwise. Nothing leaves the page.
//
//   import { Restorer } from 'mirl';
//   const restorer = await Restorer.create();            // the bundled ticket, backend 'auto'
//   const clean = await restorer.restore(imageData);     // ImageData of the same size
//
// This module wraps the WebAssembly core with the image handling, progress, cancellation and
// fallbacks a page needs. The core comes in two builds, each its own instance with its own
// memory: mirl_core (the CPU backend, small: `init`, `degrade`, `compare` and CPU restores)
// and mirl_gpu (the WebGPU backend, several times larger), fetched only for a restorer that
// runs on WebGPU.

import * as cpuCore from './mirl_core.js';
import { TilePool } from './pool.js';

/** Largest image accepted, in pixels (the same limit as the native tool). */
export const MAX_PIXELS = 32_000_000;

const loading = { cpu: null, gpu: null };
const loaded = { cpu: null, gpu: null };

async function start(kind, core, input) {
  await core.default(input === undefined ? undefined : { module_or_path: input });
  core.onPanic(onCorePanic);
  loaded[kind] = core;
  return core;
}

/**
 * Loads the CPU core once. `Restorer.create` loads what it needs for you; call this yourself
 * before using `degrade` or `compare`. `input` is passed to wasm-bindgen's init (a URL,
 * Response or module of `mirl_core_bg.wasm`).
 */
export default function init(input) {
  loading.cpu ??= start('cpu', cpuCore, input);
  return loading.cpu;
}

/** The WebGPU core, fetched on first use. */
function initGpu() {
  loading.gpu ??= import('./mirl_gpu.js').then((core) => start('gpu', core));
  return loading.gpu;
}

// A panic in a core (a lost GPU device makes burn's WebGPU backend panic, for one) leaves the
// task it happened in pending forever. `panics` counts them and `stopped` rejects at the next
// one, so work in flight can stop waiting.
let panics = 0;
let stopped = null;
let panicked = null;
// Set once WebGPU has failed in this page: later restorers use the CPU.
let webgpuFailed = false;

function armPanic() {
  stopped = new Promise((_, reject) => (panicked = reject));
  stopped.catch(() => {});
}
armPanic();

function onCorePanic(message) {
  panics += 1;
  const reject = panicked;
  armPanic();
  reject(new Error(`the WebAssembly core panicked: ${message}`));
}

/** `promise`, or the next panic, whichever comes first. */
function unlessPanic(promise) {
  return Promise.race([promise, stopped]);
}

/**
 * Bytes of WebAssembly memory the loaded cores hold (0 before any is loaded). Memory grows
 * when needed and never shrinks, so this is also the most they have needed so far.
 */
export function wasmMemoryBytes() {
  return (loaded.cpu?.wasmMemoryBytes() ?? 0) + (loaded.gpu?.wasmMemoryBytes() ?? 0);
}

/** For `worker.js` in a `TilePool` (pool.js): an engine on this worker's CPU core. */
export async function tileEngine(ticket) {
  const cpu = await init();
  const engine = await cpu.Engine.create(ticket, 'cpu');
  return {
    run: (input, height, width) => unlessPanic(engine.runTile(input, height, width)),
    free: () => engine.free(),
  };
}

/** options.threads as a number of workers: 1 (the default), a whole number, or 'auto'. */
function threadCount(threads = 1) {
  if (threads === 'auto') return Math.max(1, Math.min(globalThis.navigator?.hardwareConcurrency ?? 1, 16));
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new Error(`options.threads must be 'auto' or a whole number from 1 to 64, not ${JSON.stringify(threads)}`);
  }
  return threads;
}

/** Rejects with a DOMException named AbortError, as fetch does. */
function abortError() {
  return new DOMException('the restore was aborted', 'AbortError');
}

function asError(e) {
  if (e instanceof Error || e instanceof DOMException) return e;
  return new Error(String(e));
}

async function ticketBytes(ticket) {
  if (ticket === undefined || ticket === null) return new Uint8Array(0);
  if (ticket instanceof Uint8Array) return ticket;
  if (ticket instanceof ArrayBuffer) return new Uint8Array(ticket);
  if (typeof ticket === 'string' || ticket instanceof URL) {
    const response = await fetch(ticket);
    if (!response.ok) throw new Error(`cannot fetch the ticket ${ticket}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  throw new TypeError('options.ticket must be a Uint8Array, an ArrayBuffer or a URL string');
}

async function hasWebGpu() {
  try {
    return !!(globalThis.navigator?.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

/** Whether bytes begin as a JPEG file does (start-of-image, then a marker). */
function isJpeg(bytes) {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * A photo as `restore` takes it: its pixels, and, where it came as a JPEG file (a Blob, a
 * File, an ArrayBuffer or a typed array of its bytes), the file, whose header says how it
 * was compressed.
 */
export async function readImage(image) {
  if (image instanceof ArrayBuffer || ArrayBuffer.isView(image)) {
    const bytes = image instanceof ArrayBuffer ? new Uint8Array(image) : new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
    image = new Blob([bytes]);
  }
  let jpeg;
  if (typeof Blob !== 'undefined' && image instanceof Blob && isJpeg(new Uint8Array(await image.slice(0, 4).arrayBuffer()))) {
    jpeg = new Uint8Array(await image.arrayBuffer());
  }
  return { imageData: await toImageData(image), jpeg };
}

/** Any image source a page has, as ImageData. */
export async function toImageData(image) {
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) return image;
  if (image instanceof ArrayBuffer || ArrayBuffer.isView(image)) image = new Blob([image]);
  let source = image;
  if (typeof Blob !== 'undefined' && image instanceof Blob) {
    try {
      source = await createImageBitmap(image);
    } catch {
      throw new Error(`the ${image.type || 'file'} given is not an image this browser can decode`);
    }
  } else if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement) {
    if (!image.complete) await image.decode();
  }
  const width = source.naturalWidth ?? source.width;
  const height = source.naturalHeight ?? source.height;
  if (!(width > 0 && height > 0)) {
    throw new Error(`the image is empty (${width ?? '?'}x${height ?? '?'})`);
  }
  checkSize(width, height);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(source, 0, 0);
  if (source !== image && source.close) source.close();
  return ctx.getImageData(0, 0, width, height);
}

function checkSize(width, height) {
  if (width * height > MAX_PIXELS) {
    throw new Error(
      `the image is ${width}x${height} (${(width * height / 1e6).toFixed(1)} megapixels); ` +
        `the limit is ${MAX_PIXELS / 1e6} megapixels (${MAX_PIXELS} pixels)`,
    );
  }
}

/** `options.jpeg` of `restore` as bytes: a Uint8Array, another typed array or an ArrayBuffer. */
function jpegBytes(jpeg) {
  if (jpeg === undefined || jpeg === null) return undefined;
  if (jpeg instanceof ArrayBuffer) return new Uint8Array(jpeg);
  if (ArrayBuffer.isView(jpeg)) return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  throw new Error(`jpeg must be the JPEG file's bytes (a Uint8Array or an ArrayBuffer), not ${typeof jpeg}`);
}

/** `options.tasks` of `restore` as the core takes it: 'auto', 'all', 'none' or 'noise,jpeg'. */
function taskList(tasks = 'auto') {
  if (Array.isArray(tasks)) return tasks.length ? tasks.join(',') : 'none';
  if (typeof tasks !== 'string') throw new Error(`tasks must be a string or an array of names, not ${typeof tasks}`);
  return tasks;
}

export class Restorer {
  #ticket;
  #engine = null;
  #backend = null;
  #info = null;
  #pool = null;
  #freed = false;

  /** Use `Restorer.create`. */
  constructor(ticket) {
    this.#ticket = ticket;
  }

  /**
   * Loads a ticket (options.ticket: bytes or a URL; the bundled one by default) on
   * options.backend: 'auto' (WebGPU if the browser has an adapter, else CPU), 'webgpu' or 'cpu'.
   * options.threads: on the CPU, restore tiles on this many workers at once ('auto': one per
   * core the browser reports); 1 (the default) runs them in this thread.
   */
  static async create(options = {}) {
    const backend = options.backend ?? 'auto';
    if (!['auto', 'webgpu', 'cpu'].includes(backend)) {
      throw new Error(`unknown backend ${JSON.stringify(backend)} (use 'auto', 'webgpu' or 'cpu')`);
    }
    const threads = threadCount(options.threads);
    const restorer = new Restorer(await ticketBytes(options.ticket));
    let engine = null;
    if (backend !== 'cpu') {
      if (webgpuFailed) {
        if (backend === 'webgpu') throw new Error('WebGPU has failed in this page (the device was lost?); use the CPU');
        console.warn('mirl: WebGPU has failed in this page; using the CPU');
      } else if (await hasWebGpu()) {
        try {
          const gpu = await initGpu();
          engine = await unlessPanic(gpu.Engine.create(restorer.#ticket.slice(), 'webgpu'));
        } catch (e) {
          if (backend === 'webgpu') throw asError(e);
          console.warn(`mirl: WebGPU failed (${asError(e).message}); using the CPU`);
          webgpuFailed = true;
        }
      } else if (backend === 'webgpu') {
        throw new Error('this browser has no WebGPU adapter');
      } else {
        console.warn('mirl: no WebGPU adapter; using the CPU');
      }
    }
    restorer.#use(engine ?? (await restorer.#cpuEngine()));
    if (restorer.#backend === 'cpu' && threads > 1) {
      try {
        restorer.#pool = await TilePool.create(restorer.#ticket, threads);
      } catch (e) {
        restorer.free();
        throw e;
      }
    }
    return restorer;
  }

  async #cpuEngine() {
    const cpu = await init();
    return cpu.Engine.create(this.#ticket.slice(), 'cpu');
  }

  #use(engine) {
    this.#engine = engine;
    this.#backend = engine.backend;
    this.#info = engine.info();
  }

  #check() {
    if (this.#freed) throw new Error('this Restorer has been freed');
  }

  /** 'webgpu' or 'cpu'. */
  get backend() {
    this.#check();
    return this.#backend;
  }

  /**
   * The ticket's config, provenance, parameters, nonzero, density, prunable_density, bytes;
   * and threads, the tiles this restorer runs at once.
   */
  info() {
    this.#check();
    return { ...structuredClone(this.#info), threads: this.#threads() };
  }

  #threads() {
    return this.#backend === 'cpu' && this.#pool ? this.#pool.size : 1;
  }

  /**
   * Restores an image (ImageData, ImageBitmap, HTMLImageElement, HTMLCanvasElement,
   * OffscreenCanvas, Blob or File, or a file's bytes as an ArrayBuffer or typed array) and
   * resolves to an ImageData of the same size. A JPEG file (Blob, File or bytes) is read for
   * how it was compressed: its quality, from its quantization tables, and its chroma
   * subsampling (`plan.jpegFile`); `options.jpeg` gives the file of pixels passed otherwise.
   * options: tasks, what to remove: 'auto' (the default: the noise and JPEG artefacts the
   * photo shows; a photo that needs nothing comes back as it was), 'all' (the network as it is),
   * 'none', or some of 'noise', 'jpeg', 'rain', 'haze' (an array, or joined by commas);
   * onPlan(plan), called before resolving with what was found and removed; tileSize
   * (pixels, multiple of 8; default 512), onProgress(done, total), signal (an AbortSignal:
   * rejects with AbortError between tiles).
   * If WebGPU fails mid-restore (an error, or a panic: a lost device), the restore starts
   * again on the CPU, and so does every later one; `backend` then says 'cpu'.
   */
  async restore(image, options = {}) {
    this.#check();
    const { tileSize = 0, onProgress, onPlan, signal } = options;
    const tasks = taskList(options.tasks);
    if (signal?.aborted) throw abortError();
    const { imageData: input, jpeg: file } = await readImage(image);
    const jpeg = jpegBytes(options.jpeg) ?? file;
    for (let attempt = 0; ; attempt++) {
      const [engine, backend, before] = [this.#engine, this.#backend, panics];
      try {
        return await this.#run(engine, input, { tileSize, tasks, jpeg, onProgress, onPlan, signal });
      } catch (e) {
        if (e?.name === 'AbortError' || this.#freed || attempt > 0) throw asError(e);
        if (backend === 'webgpu') {
          webgpuFailed = true;
          console.warn(`mirl: WebGPU failed (${asError(e).message}); starting again on the CPU`);
          if (this.#engine === engine) {
            // After a panic the engine's state is abandoned mid-use: leave it be.
            if (panics === before) engine.free();
            this.#use(await this.#cpuEngine());
          }
        } else if (panics === before) {
          throw asError(e);
        }
        // A panic (here or in another restore in flight) stopped this one: once more.
      }
    }
  }

  async #run(engine, input, { tileSize, tasks, jpeg, onProgress, onPlan, signal }) {
    const pixels = () => new Uint8Array(input.data.buffer.slice(0));
    let job;
    try {
      job = engine.start(pixels(), input.width, input.height, tileSize, tasks, jpeg);
    } catch (e) {
      // The browser decoded the photo: a header the core cannot read costs only what it says.
      if (!jpeg || !/invalid JPEG file/.test(asError(e).message)) throw e;
      console.warn(`mirl: ${asError(e).message}; estimating the compression from the pixels`);
      job = engine.start(pixels(), input.width, input.height, tileSize, tasks);
    }
    try {
      if (engine.backend === 'cpu' && this.#pool) {
        // The page's engine plans and blends; the pool's workers run the network.
        await this.#pool.run(job, onProgress, () => signal?.aborted && abortError());
      } else {
        const total = job.tiles;
        for (let i = 0; i < total; i++) {
          if (signal?.aborted) throw abortError();
          await unlessPanic(job.run(i));
          onProgress?.(i + 1, total);
          // Let the page breathe between tiles.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
      if (signal?.aborted) throw abortError();
      const rgba = job.finish();
      onPlan?.(job.plan());
      return new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), input.width, input.height);
    } finally {
      job.free();
    }
  }

  /** Releases the network. Later calls reject. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    this.#pool?.free();
    if (!(this.#backend === 'webgpu' && webgpuFailed)) this.#engine.free();
  }
}

/**
 * Degrades an ImageData as `native-trainer degrade` does: kind is 'noise:25', 'jpeg:20',
 * 'osn', 'rain', 'haze' or a chain such as 'noise:25+jpeg:40'; the same seed gives the same
 * result. Call `await init()` first.
 */
export function degrade(imageData, kind, seed = 0) {
  if (!loaded.cpu) throw new Error('call `await init()` before degrade()');
  const out = loaded.cpu.degradeRgba(new Uint8Array(imageData.data.buffer.slice(0)), imageData.width, imageData.height, kind, BigInt(seed));
  return new ImageData(new Uint8ClampedArray(out.buffer, out.byteOffset, out.length), imageData.width, imageData.height);
}

/**
 * PSNR (dB) and SSIM of `test` against `reference`, two ImageData of one size, as
 * `native-trainer metrics` computes them (RGB, alpha ignored). Call `await init()` first.
 */
export function compare(reference, test) {
  if (!loaded.cpu) throw new Error('call `await init()` before compare()');
  if (reference.width !== test.width || reference.height !== test.height) {
    throw new Error(`images differ in size: ${reference.width}x${reference.height} and ${test.width}x${test.height}`);
  }
  return loaded.cpu.compareRgba(new Uint8Array(reference.data.buffer), new Uint8Array(test.data.buffer), test.width, test.height);
}
