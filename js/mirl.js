// mirl: restore photos in the browser with a pruned PromptIR "winning ticket", on WebGPU when
// the browser has it and on the CPU otherwise. Nothing leaves the page.
//
//   import { Restorer } from 'mirl';
//   const restorer = await Restorer.create();            // the bundled tickets, backend 'auto'
//   const clean = await restorer.restore(file);          // ImageData of the same size
//
// Two tickets are bundled: 'osn' for photos as social networks deliver them (JPEG, resized,
// re-shared) and 'allinone' for noise, rain and haze; by default each photo gets the one that
// suits it (`plan.ticket` says which and why).
//
// This module wraps the WebAssembly core with the image handling, progress, cancellation and
// fallbacks a page needs. The core comes in two builds, each its own instance with its own
// memory: mirl_core (the CPU backend, small: `init`, `degrade`, `compare` and CPU restores)
// and mirl_gpu (the WebGPU backend, several times larger), fetched only for a restorer that
// runs on WebGPU.

import { abortError, asError, mirlError } from './errors.js';
import * as cpuCore from './mirl_core.js';
import { TilePool } from './pool.js';

/**
 * Largest image accepted, in pixels: the core's limit (`maxPixels()` of either core, which a
 * test compares with this), checked here before a large image is copied out of its canvas.
 */
export const MAX_PIXELS = 32_000_000;

const loading = { cpu: null, gpu: null };
const loaded = { cpu: null, gpu: null };
/** Where the cores' .wasm files are fetched from (`setWasmPaths`); null: beside this module. */
let wasmBase = null;

/**
 * Fetches the cores' .wasm files (`mirl_core_bg.wasm`, `mirl_gpu_bg.wasm`) from the folder at
 * `url` rather than beside this module, for a page that serves them elsewhere (a CDN). Call it
 * before anything loads a core; restorers in workers (`threads`, `mirl/worker`) use it too.
 */
export function setWasmPaths(url) {
  if (loading.cpu || loading.gpu) {
    throw mirlError('INVALID_OPTION', 'setWasmPaths must come before a core is loaded');
  }
  const base = new URL(url, globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  wasmBase = base.href;
}

/** The folder `setWasmPaths` set, as an absolute URL, or null. */
export function wasmPaths() {
  return wasmBase;
}

async function start(kind, core, file, input) {
  input ??= wasmBase === null ? undefined : new URL(file, wasmBase);
  await core.default(input === undefined ? undefined : { module_or_path: input });
  core.onPanic(onCorePanic);
  loaded[kind] = core;
  return core;
}

/**
 * Loads the CPU core once. `Restorer.create` loads what it needs for you; call this yourself
 * before using `degrade` or `compare`. `input` is passed to wasm-bindgen's init (a URL,
 * Response or module of `mirl_core_bg.wasm`; default: as `setWasmPaths` says).
 */
export default function init(input) {
  loading.cpu ??= start('cpu', cpuCore, 'mirl_core_bg.wasm', input);
  return loading.cpu;
}

/** The WebGPU core, fetched on first use. */
function initGpu() {
  loading.gpu ??= import('./mirl_gpu.js').then((core) => start('gpu', core, 'mirl_gpu_bg.wasm'));
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
  reject(mirlError('CORE_PANIC', `the WebAssembly core panicked: ${message}`));
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

/** The bundled tickets, by the names `options.ticket` takes. */
const BUNDLED = ['allinone', 'osn'];

/** An engine for `source` ({ bundled: name } or { bytes }) on `core`'s `backend`. */
function createEngine(core, source, backend) {
  return source.bundled ? core.Engine.bundled(source.bundled, backend) : core.Engine.create(source.bytes.slice(), backend);
}

/** For `worker.js` in a `TilePool` (pool.js): an engine on this worker's CPU core. */
export async function tileEngine(source) {
  const cpu = await init();
  const engine = await createEngine(cpu, source, 'cpu');
  return {
    run: (input, height, width) => unlessPanic(engine.runTile(input, height, width)),
    free: () => engine.free(),
  };
}

/** options.threads as a number of workers: 1 (the default), a whole number, or 'auto'. */
function threadCount(threads = 1) {
  if (threads === 'auto') return Math.max(1, Math.min(globalThis.navigator?.hardwareConcurrency ?? 1, 16));
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw mirlError('INVALID_OPTION', `options.threads must be 'auto' or a whole number from 1 to 64, not ${JSON.stringify(threads)}`);
  }
  return threads;
}

/**
 * `options.ticket` of `Restorer.create`: { choice } for the bundled tickets ('auto', or one by
 * name), or { bytes } of a ticket file.
 */
async function ticketSource(ticket = 'auto') {
  if (ticket === 'auto' || BUNDLED.includes(ticket)) return { choice: ticket };
  if (ticket instanceof Uint8Array) return { bytes: ticket };
  if (ticket instanceof ArrayBuffer) return { bytes: new Uint8Array(ticket) };
  if (typeof ticket === 'string' || ticket instanceof URL) {
    let response;
    try {
      response = await fetch(ticket);
    } catch (e) {
      throw mirlError('FETCH_FAILED', `cannot fetch the ticket ${ticket}: ${asError(e).message}`);
    }
    if (!response.ok) throw mirlError('FETCH_FAILED', `cannot fetch the ticket ${ticket}: HTTP ${response.status}`);
    return { bytes: new Uint8Array(await response.arrayBuffer()) };
  }
  throw mirlError('INVALID_OPTION', `options.ticket must be 'auto', ${BUNDLED.map((b) => `'${b}'`).join(', ')}, a Uint8Array, an ArrayBuffer or a URL`);
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
      throw mirlError('NOT_AN_IMAGE', `the ${image.type || 'file'} given is not an image this browser can decode`);
    }
  } else if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement) {
    if (!image.complete) await image.decode();
  }
  const width = source.naturalWidth ?? source.width;
  const height = source.naturalHeight ?? source.height;
  if (!(width > 0 && height > 0)) {
    throw mirlError('EMPTY_IMAGE', `the image is empty (${width ?? '?'}x${height ?? '?'})`);
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
    throw mirlError(
      'IMAGE_TOO_LARGE',
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
  throw mirlError('INVALID_OPTION', `jpeg must be the JPEG file's bytes (a Uint8Array or an ArrayBuffer), not ${typeof jpeg}`);
}

/**
 * `use(jpeg)`, or `use(undefined)` where the core cannot read the JPEG file's header: the
 * browser decoded the photo, so such a header costs only what it says (the compression is
 * then estimated from the pixels).
 */
function withReadableJpeg(jpeg, use) {
  try {
    return use(jpeg);
  } catch (e) {
    if (!jpeg || e?.code !== 'INVALID_JPEG') throw e;
    console.warn(`mirl: ${asError(e).message}; estimating the compression from the pixels`);
    return use(undefined);
  }
}

/** `options.tasks` of `restore` as the core takes it: 'auto', 'all', 'none' or 'noise,jpeg'. */
function taskList(tasks = 'auto') {
  if (Array.isArray(tasks)) return tasks.length ? tasks.join(',') : 'none';
  if (typeof tasks !== 'string') throw mirlError('INVALID_OPTION', `tasks must be a string or an array of names, not ${typeof tasks}`);
  return tasks;
}

/**
 * One ticket loaded on one backend (WebGPU, or the CPU with its pool of workers), with the
 * ticket's info.
 */
class Network {
  source;
  engine = null;
  backend = null;
  info = null;
  pool = null;
  #threads;
  #cpu = null;

  constructor(source, threads) {
    this.source = source;
    this.#threads = threads;
  }

  /** Loads `source` on `backend` ('auto', 'webgpu' or 'cpu'), as `Restorer.create` says. */
  static async load(source, backend, threads) {
    const network = new Network(source, threads);
    let engine = null;
    if (backend !== 'cpu') {
      if (webgpuFailed) {
        console.warn('mirl: WebGPU has failed in this page; using the CPU');
      } else if (await hasWebGpu()) {
        try {
          engine = await unlessPanic(createEngine(await initGpu(), source, 'webgpu'));
        } catch (e) {
          if (backend === 'webgpu') throw asError(e);
          console.warn(`mirl: WebGPU failed (${asError(e).message}); using the CPU`);
          webgpuFailed = true;
        }
      } else if (backend === 'webgpu') {
        throw mirlError('NO_WEBGPU', 'this browser has no WebGPU adapter');
      } else {
        console.warn('mirl: no WebGPU adapter; using the CPU');
      }
    }
    if (engine) network.#use(engine);
    else await network.toCpu(false);
    return network;
  }

  #use(engine) {
    this.engine = engine;
    this.backend = engine.backend;
    this.info = engine.info();
  }

  /**
   * Moves to the CPU, with the workers `threads` asks for, once however often it is asked.
   * `freeGpu`: free the WebGPU engine (not one that a panic abandoned mid-use).
   */
  toCpu(freeGpu) {
    this.#cpu ??= this.#loadCpu(freeGpu);
    return this.#cpu;
  }

  async #loadCpu(freeGpu) {
    if (freeGpu) this.engine?.free();
    this.#use(await createEngine(await init(), this.source, 'cpu'));
    if (this.#threads > 1) {
      try {
        this.pool = await TilePool.create(this.source, this.#threads, wasmBase);
      } catch (e) {
        this.free();
        throw e;
      }
    }
  }

  get threads() {
    return this.backend === 'cpu' && this.pool ? this.pool.size : 1;
  }

  free() {
    this.pool?.free();
    if (this.engine && !(this.backend === 'webgpu' && webgpuFailed)) this.engine.free();
  }
}

export class Restorer {
  /** 'auto', 'allinone' or 'osn' for the bundled tickets; null for the caller's own. */
  #choice;
  /** Loaded networks by bundled name ('own' for the caller's ticket), as promises. */
  #networks = new Map();
  #own;
  #backend;
  #threads;
  /** The network of the last restore (the first one loaded, before any). */
  #last = null;
  #freed = false;

  /** Use `Restorer.create`. */
  constructor(source, backend, threads) {
    this.#choice = source.choice ?? null;
    this.#own = source.bytes;
    this.#backend = backend;
    this.#threads = threads;
  }

  /**
   * Loads a ticket on options.backend: 'auto' (WebGPU if the browser has an adapter, else
   * CPU), 'webgpu' or 'cpu'. options.ticket: 'auto' (the default: for each photo the bundled
   * ticket that suits it, 'osn' for a JPEG that shows no noise and 'allinone' otherwise), a
   * bundled ticket by name ('allinone', 'osn'), or a ticket file's bytes or URL.
   * options.threads: on the CPU, restore tiles on this many workers at once ('auto': one per
   * core the browser reports); 1 (the default) runs them in this thread.
   */
  static async create(options = {}) {
    const backend = options.backend ?? 'auto';
    if (!['auto', 'webgpu', 'cpu'].includes(backend)) {
      throw mirlError('INVALID_OPTION', `unknown backend ${JSON.stringify(backend)} (use 'auto', 'webgpu' or 'cpu')`);
    }
    if (backend === 'webgpu' && webgpuFailed) {
      throw mirlError('NO_WEBGPU', 'WebGPU has failed in this page (the device was lost?); use the CPU');
    }
    const threads = threadCount(options.threads);
    const restorer = new Restorer(await ticketSource(options.ticket), backend, threads);
    // The first network now, so that what cannot load fails here: the all-in-one for 'auto'.
    const first = restorer.#choice === null ? 'own' : restorer.#choice === 'auto' ? 'allinone' : restorer.#choice;
    restorer.#last = await restorer.#network(first);
    return restorer;
  }

  /** The network for `name` (a bundled ticket, or 'own'), loaded on first use. */
  #network(name) {
    if (!this.#networks.has(name)) {
      const source = name === 'own' ? { bytes: this.#own } : { bundled: name };
      // After WebGPU has failed, 'webgpu' means the CPU, as for a network already loaded.
      const backend = webgpuFailed && this.#backend === 'webgpu' ? 'cpu' : this.#backend;
      const loading = Network.load(source, backend, this.#threads);
      loading.catch(() => this.#networks.delete(name));
      this.#networks.set(name, loading);
    }
    return this.#networks.get(name);
  }

  #check() {
    if (this.#freed) throw mirlError('FREED', 'this Restorer has been freed');
  }

  /** 'webgpu' or 'cpu': where the last restore ran (before any, the first ticket loaded). */
  get backend() {
    this.#check();
    return this.#last.backend;
  }

  /**
   * The last restore's ticket (before any, the first loaded: the all-in-one for 'auto'): its
   * figures as `native-trainer inspect --json` gives them (config, provenance, parameters,
   * nonzero, density, prunable_density, file_bytes, ...); ticket, the
   * bundled ticket's name (null for the caller's own); and threads, the tiles run at once.
   */
  info() {
    this.#check();
    const network = this.#last;
    return { ...structuredClone(network.info), ticket: network.source.bundled ?? null, threads: network.threads };
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
   * onPlan(plan), called before resolving with what was found and removed, and with the
   * bundled ticket's name and why it was picked (`plan.ticket`); tileSize
   * (pixels, multiple of 8; default 512), onProgress(done, total), signal (an AbortSignal:
   * rejects with AbortError between tiles).
   * If WebGPU fails mid-restore (an error, or a panic: a lost device), the restore starts
   * again on the CPU, and so does every later one; `backend` then says 'cpu'.
   */
  async restore(image, options = {}) {
    this.#check();
    const { tileSize, onProgress, onPlan, signal } = options;
    const tasks = taskList(options.tasks);
    if (signal?.aborted) throw abortError();
    const { imageData: input, jpeg: file } = await readImage(image);
    let jpeg = jpegBytes(options.jpeg) ?? file;
    let chosen;
    if (this.#choice !== null) {
      [chosen, jpeg] = await this.#choose(input, tasks, jpeg);
    }
    const network = await this.#network(chosen?.pick.ticket ?? 'own');
    this.#check();
    this.#last = network;
    for (let attempt = 0; ; attempt++) {
      // WebGPU failed in another restore: this network's device is gone too.
      if (webgpuFailed && network.backend === 'webgpu') await network.toCpu(false);
      const [backend, before] = [network.backend, panics];
      try {
        return await this.#run(network, input, { tileSize, tasks, jpeg, chosen, onProgress, onPlan, signal });
      } catch (e) {
        if (e?.name === 'AbortError' || this.#freed || attempt > 0) throw asError(e);
        if (backend === 'webgpu') {
          webgpuFailed = true;
          console.warn(`mirl: WebGPU failed (${asError(e).message}); starting again on the CPU`);
          // After a panic the engine's state is abandoned mid-use: leave it be.
          await network.toCpu(panics === before);
        } else if (panics === before) {
          throw asError(e);
        }
        // A panic (here or in another restore in flight) stopped this one: once more.
      }
    }
  }

  /**
   * Examines the photo and picks its bundled ticket: [chosen, jpeg] (jpeg left out where the
   * core cannot read its header).
   */
  async #choose(input, tasks, jpeg) {
    const cpu = await init();
    const pixels = new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    return withReadableJpeg(jpeg, (file) => [cpu.chooseTicket(pixels, input.width, input.height, tasks, file, this.#choice), file]);
  }

  async #run(network, input, { tileSize, tasks, jpeg, chosen, onProgress, onPlan, signal }) {
    const engine = network.engine;
    const pixels = () => new Uint8Array(input.data.buffer.slice(0));
    const job = withReadableJpeg(jpeg, (file) => engine.start(pixels(), input.width, input.height, tileSize, tasks, file, chosen));
    try {
      if (engine.backend === 'cpu' && network.pool) {
        // The page's engine plans and blends; the pool's workers run the network.
        await network.pool.run(job, onProgress, () => signal?.aborted && abortError());
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

  /** Releases the networks. Later calls reject. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    for (const loading of this.#networks.values()) loading.then((n) => n.free(), () => {});
  }
}

/**
 * Degrades an ImageData as `native-trainer degrade` does: kind is 'noise:25', 'jpeg:20',
 * 'osn', 'rain', 'haze' or a chain such as 'noise:25+jpeg:40'; the same seed gives the same
 * result. Call `await init()` first.
 */
export function degrade(imageData, kind, seed = 0) {
  if (!loaded.cpu) throw mirlError('NOT_INITIALIZED', 'call `await init()` before degrade()');
  const out = loaded.cpu.degradeRgba(new Uint8Array(imageData.data.buffer.slice(0)), imageData.width, imageData.height, kind, BigInt(seed));
  return new ImageData(new Uint8ClampedArray(out.buffer, out.byteOffset, out.length), imageData.width, imageData.height);
}

/**
 * PSNR (dB) and SSIM of `test` against `reference`, two ImageData of one size, as
 * `native-trainer metrics` computes them (RGB, alpha ignored). Call `await init()` first.
 */
export function compare(reference, test) {
  if (!loaded.cpu) throw mirlError('NOT_INITIALIZED', 'call `await init()` before compare()');
  if (reference.width !== test.width || reference.height !== test.height) {
    throw mirlError('INVALID_INPUT', `images differ in size: ${reference.width}x${reference.height} and ${test.width}x${test.height}`);
  }
  return loaded.cpu.compareRgba(new Uint8Array(reference.data.buffer), new Uint8Array(test.data.buffer), test.width, test.height);
}
