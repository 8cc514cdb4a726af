// A typed page using the package as its README shows: `tsc --noEmit --strict` over it checks
// the declarations that ship in pkg/ (vite.test.mjs runs it on the installed package).
import init, { MAX_PIXELS, Restorer, compare, degrade, readImage, setWasmPaths, toImageData, wasmPaths, wasmMemoryBytes } from 'mirl';
import type { ErrorCode, MirlError, RestorePlan, RestorerInfo, TicketInfo } from 'mirl';
import { WorkerRestorer } from 'mirl/worker';

setWasmPaths(new URL('/assets/', location.href));
const folder: string | null = wasmPaths();

async function restoreFile(file: File, canvas: HTMLCanvasElement): Promise<RestorePlan | null> {
  const restorer = await Restorer.create({ ticket: 'auto', backend: 'auto', threads: 'auto' });
  const info: RestorerInfo = restorer.info();
  const ticket: TicketInfo = info;
  console.log(restorer.backend, info.ticket, info.threads, ticket.config.dim, ticket.precision, folder);
  let plan: RestorePlan | null = null;
  const controller = new AbortController();
  try {
    const clean: ImageData = await restorer.restore(file, {
      tasks: ['noise', 'jpeg'],
      tileSize: 256,
      signal: controller.signal,
      onProgress: (done: number, total: number) => console.log(`${done}/${total}`),
      onPlan: (p) => {
        plan = p;
        console.log(p.tasks, p.findings.noiseSigma, p.jpegFile?.quality, p.ticket?.why, p.heldBack);
      },
    });
    canvas.getContext('2d')?.putImageData(clean, 0, 0);
  } catch (e) {
    const code: ErrorCode | undefined = (e as MirlError).code;
    if (code === 'IMAGE_TOO_LARGE') console.log(`at most ${MAX_PIXELS} pixels`);
    else if ((e as Error).name !== 'AbortError') throw e;
  } finally {
    restorer.free();
  }
  return plan;
}

async function inAWorker(image: ImageData): Promise<number> {
  const restorer = await WorkerRestorer.create({ backend: 'cpu' });
  const noisy = await restorer.degrade(image, 'noise:25', 1);
  const clean = await restorer.restore(noisy, { tasks: 'auto' });
  const { psnr } = await restorer.compare(image, clean);
  console.log(await restorer.wasmMemoryBytes(), restorer.info().nonzero);
  restorer.free();
  return psnr;
}

async function onThePage(image: ImageData, file: Blob): Promise<number> {
  const { imageData, jpeg } = await readImage(file);
  const pixels: ImageData = await toImageData(file);
  console.log(imageData.width, jpeg?.byteLength, pixels.height);
  await init();
  const hazy = degrade(image, 'haze', 0);
  const { ssim } = compare(image, hazy);
  return ssim + wasmMemoryBytes();
}

export { restoreFile, inAWorker, onThePage };
