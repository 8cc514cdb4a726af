import type { Backend, CreateOptions, ImageInput, RestoreOptions, RestorerInfo } from './mirl.js';

/** The mirl API in a module Web Worker: restores never block the page. */
export class WorkerRestorer {
  private constructor();
  static create(options?: CreateOptions): Promise<WorkerRestorer>;
  readonly backend: Backend;
  info(): RestorerInfo;
  restore(image: ImageInput, options?: RestoreOptions): Promise<ImageData>;
  degrade(image: ImageData, kind: string, seed?: number): Promise<ImageData>;
  compare(reference: ImageData, test: ImageData): Promise<{ psnr: number; ssim: number }>;
  /** `wasmMemoryBytes()` of the worker's copy of the module. */
  wasmMemoryBytes(): Promise<number>;
  free(): void;
}
