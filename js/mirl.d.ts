/** Largest image accepted, in pixels (32,000,000). */
export const MAX_PIXELS: number;

/**
 * What went wrong, as `error.code` of every error the package throws (an aborted restore
 * rejects with a DOMException named 'AbortError' instead, as fetch does).
 */
export type ErrorCode =
  /** The image is not one the browser or the core can decode. */
  | 'NOT_AN_IMAGE'
  | 'EMPTY_IMAGE'
  /** Over MAX_PIXELS. */
  | 'IMAGE_TOO_LARGE'
  /** An argument is unusable: pixel data of the wrong length, an unknown task or degradation. */
  | 'INVALID_INPUT'
  /** An option of `create` or `restore` is unusable (threads, backend, ticket, tasks, jpeg). */
  | 'INVALID_OPTION'
  /** A ticket file that is corrupt, truncated or not a ticket. */
  | 'INVALID_TICKET'
  /** A ticket written by a newer version of the format. */
  | 'UNSUPPORTED_TICKET_VERSION'
  /** A ticket whose network config is out of range. */
  | 'INVALID_CONFIG'
  /** A ticket whose weights do not fit its config. */
  | 'WEIGHTS_MISMATCH'
  /** A JPEG file whose header does not read (`restore` then goes by the pixels and warns). */
  | 'INVALID_JPEG'
  /** The ticket URL did not fetch. */
  | 'FETCH_FAILED'
  /** backend 'webgpu' where the browser has no adapter, or after WebGPU failed in this page. */
  | 'NO_WEBGPU'
  /** The backend failed to run the network (WebGPU's result did not read back). */
  | 'BACKEND_FAILED'
  /** The WebAssembly core panicked (a lost GPU device, for one). */
  | 'CORE_PANIC'
  /** A worker (`threads`, `mirl/worker`) stopped or could not start. */
  | 'WORKER_FAILED'
  /** A call after `free()`. */
  | 'FREED'
  /** `degrade` or `compare` before `await init()`. */
  | 'NOT_INITIALIZED'
  /** Neither of the above: a defect, please report it. */
  | 'INTERNAL'
  /** Natively only: a ticket that cannot be written. */
  | 'TICKET_WRITE_FAILED';

/** An error the package throws. */
export interface MirlError extends Error {
  code: ErrorCode;
}

/**
 * Fetches the cores' .wasm files from the folder at `url` rather than beside this module (a
 * page that serves them from elsewhere). Call it before anything loads a core; workers use it too.
 */
export function setWasmPaths(url: string | URL): void;

/** The folder `setWasmPaths` set, as an absolute URL, or null. */
export function wasmPaths(): string | null;

/**
 * Loads the CPU core (`mirl_core_bg.wasm`) once; needed before `degrade` and `compare`.
 * `Restorer.create` loads the core it needs (the WebGPU one, `mirl_gpu_bg.wasm`, only for WebGPU).
 */
export default function init(input?: string | URL | Request | Response | WebAssembly.Module): Promise<unknown>;

export type Backend = 'webgpu' | 'cpu';

/**
 * The tickets the package carries: 'allinone' (noise, JPEG, rain, haze) and 'osn' (photos as
 * social networks deliver them: JPEG, resized, re-shared).
 */
export type BundledTicket = 'allinone' | 'osn';

export interface CreateOptions {
  /**
   * 'auto' (default): for each photo the bundled ticket that suits it ('osn' for a JPEG that
   * shows no noise, 'allinone' otherwise; `plan.ticket` says which and why); a bundled ticket
   * by name; or a ticket file (.mirl) as bytes or a URL to fetch.
   */
  ticket?: 'auto' | BundledTicket | Uint8Array | ArrayBuffer | string | URL;
  /** 'auto' (default): WebGPU when the browser has an adapter, else the CPU. */
  backend?: 'auto' | Backend;
  /**
   * On the CPU: tiles restored at once, each on a worker with its own copy of the core
   * ('auto': one per core the browser reports, at most 16). 1 (default): in the calling thread.
   * Needs no cross-origin isolation.
   */
  threads?: number | 'auto';
}

/** A degradation a restore can remove. */
export type Task = 'noise' | 'jpeg' | 'rain' | 'haze';

/** What one restore found in the photo and removed from it. */
export interface RestorePlan {
  /** The degradations removed; empty: the photo came back as it was. */
  tasks: Task[];
  /** Whether `tasks` came from detection (`tasks: 'auto'`). */
  auto: boolean;
  findings: {
    /** Noise per colour channel, in 8-bit levels (about 0.5 on a clean photo). */
    noiseSigma: number;
    /** The JPEG quality (IJG scale) the photo's pixels show, or null (none, or above about 90). */
    jpegQuality: number | null;
    /** The dark channel's 10th percentile in [0, 1]: haze lifts it. */
    haze: number;
  };
  /** What the photo's JPEG file said of its last compression; null without a file. */
  jpegFile: {
    /** The IJG quality of its luma quantization table (1-100). */
    quality: number;
    /** The same for its chroma table; null for a grey photo. */
    chromaQuality: number | null;
    /** Chroma at full resolution (4:4:4) rather than halved (4:2:0, 4:2:2). */
    fullChroma: boolean;
    progressive: boolean;
    /**
     * Its quantization tables, 8 rows of 8 steps in natural order (chroma: null for a grey
     * photo). A JPEG removal keeps the result within what they allow.
     */
    tables: { luma: number[][]; chroma: number[][] | null } | null;
  } | null;
  /** The bundled ticket that restored the photo and why it was picked; null for a ticket of the caller's own. */
  ticket: { ticket: BundledTicket; why: string } | null;
  /** In `auto`: the change the restore made over the one the findings explain. */
  changeRatio: number | null;
  /** In `auto`: the restore changed more than the findings explain, so the photo came back as it was. */
  heldBack: boolean;
}

export interface RestoreOptions {
  /**
   * What to remove: 'auto' (default: noise and JPEG artefacts where the photo shows them,
   * never haze or rain; a photo that needs nothing comes back as it was), 'all' (the network as it is), 'none',
   * or names (an array, or joined by commas). Without haze the result keeps the photo's tones.
   */
  tasks?: 'auto' | 'all' | 'none' | string | Task[];
  /** Called once, before the restore resolves, with what was found and removed. */
  onPlan?: (plan: RestorePlan) => void;
  /** Tile side in pixels, a multiple of 8 (default 512; capped so that a tile's activations stay within 256 MiB). */
  tileSize?: number;
  /** Called after each tile. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting rejects the restore with an AbortError between tiles. */
  signal?: AbortSignal;
  /**
   * The JPEG file the pixels came from, when they are passed decoded (a JPEG Blob, File or
   * bytes is read without it): its header tells how the photo was compressed.
   */
  jpeg?: Uint8Array | ArrayBuffer;
}

export type ImageInput =
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | Blob
  /** An image file's bytes. */
  | ArrayBuffer
  | ArrayBufferView;

export interface PromptSpec {
  dim: number;
  size: number;
}

export interface NetworkConfig {
  dim: number;
  num_blocks: [number, number, number, number];
  num_refinement_blocks: number;
  heads: [number, number, number, number];
  ffn_expansion_factor: number;
  prompt_len: number;
  prompts: [PromptSpec, PromptSpec, PromptSpec];
  /** The network also reads the JPEG quantization (two input planes); absent: it does not. */
  quality_map?: boolean;
}

/** A ticket's figures, as `native-trainer inspect --json` gives them (without the layers). */
export interface TicketInfo {
  format_version: number;
  precision: 'f32' | 'f16' | 'int8';
  config: NetworkConfig;
  /** How the ticket was made: source, rounds, prune_rate, rewind, seed, data, tasks, ... */
  provenance: Record<string, unknown>;
  parameters: number;
  nonzero: number;
  /** Weights that pruning may cut, and those of them kept. */
  prunable: number;
  prunable_nonzero: number;
  /** nonzero / parameters */
  density: number;
  /** prunable_nonzero / prunable: the kept fraction of the prunable weights. */
  prunable_density: number;
  /** Size of the ticket file in bytes. */
  file_bytes: number;
}

export interface RestorerInfo extends TicketInfo {
  /** The bundled ticket these figures describe (the last restore's), or null for the caller's own. */
  ticket: BundledTicket | null;
  /** Tiles this restorer runs at once: its workers on the CPU, else 1. */
  threads: number;
}

export class Restorer {
  private constructor();
  static create(options?: CreateOptions): Promise<Restorer>;
  /** Where the last restore ran; 'cpu' from the moment WebGPU has failed (a lost device, for one). */
  readonly backend: Backend;
  /** The last restore's ticket (before any, the first loaded: the all-in-one for 'auto'). */
  info(): RestorerInfo;
  /** If WebGPU fails mid-restore, the restore starts again on the CPU (and so does progress). */
  restore(image: ImageInput, options?: RestoreOptions): Promise<ImageData>;
  free(): void;
}

/**
 * A photo as `restore` reads it: its pixels, and, where it came as a JPEG file (a Blob, File or
 * bytes), the file, whose header says how it was compressed.
 */
export function readImage(image: ImageInput): Promise<{ imageData: ImageData; jpeg: Uint8Array | undefined }>;

/** Any image source as ImageData (rejects non-images, empty and oversized images). */
export function toImageData(image: ImageInput): Promise<ImageData>;

/**
 * Degrades an image as `native-trainer degrade`: 'noise:25', 'jpeg:20', 'osn', 'rain',
 * 'haze', or a chain such as 'noise:25+jpeg:40'. Deterministic in `seed`.
 */
export function degrade(image: ImageData, kind: string, seed?: number): ImageData;

/** PSNR (dB; Infinity when identical) and SSIM of `test` against `reference`, as `native-trainer metrics`. */
export function compare(reference: ImageData, test: ImageData): { psnr: number; ssim: number };

/** For worker.js (a tile pool's worker): an engine for one ticket on this worker's CPU core. */
export function tileEngine(source: { bundled: BundledTicket } | { bytes: Uint8Array }): Promise<{
  run(input: Float32Array, height: number, width: number): Promise<Float32Array>;
  free(): void;
}>;

/** Bytes of WebAssembly memory the loaded cores hold: it never shrinks, so also the most needed so far. */
export function wasmMemoryBytes(): number;
