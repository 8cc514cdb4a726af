// Helpers shared by the test pages (served under /test/).

/**
 * The photo at `url` as a w x h ImageData: drawn at its own size from the top left corner
 * (cropped, or padded with transparent black), or scaled to fill it with `scale`.
 */
export async function photo(url, w, h, { scale = false } = {}) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  if (scale) ctx.drawImage(bitmap, 0, 0, w, h);
  else ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, w, h);
}

/** Whether two ImageData hold the same size and bytes. */
export const same = (a, b) => a.width === b.width && a.height === b.height && a.data.every((v, i) => v === b.data[i]);

/** Runs `f`; resolves to null, or to "name [code]: message" of what it threw. */
export const message = async (f) => {
  try {
    await f();
    return null;
  } catch (e) {
    return `${e.name}${e.code === undefined ? '' : ` [${e.code}]`}: ${e.message}`;
  }
};

/**
 * Test hooks inside workers, the same in every browser (drivers cannot all run code in a
 * worker): from now on, each worker the page starts runs its own script, then `install`
 * (a self-contained function, run in the worker once the script has set `self.onmessage`).
 * Returns the set of workers running; a hook listens for messages the page posts to them.
 */
export function hookWorkers(install) {
  const live = new Set();
  globalThis.Worker = class extends globalThis.Worker {
    constructor(url, options) {
      const script = `import ${JSON.stringify(new URL(url, location.href).href)};\n(${install})();`;
      super(URL.createObjectURL(new Blob([script], { type: 'text/javascript' })), options);
      live.add(this);
    }

    terminate() {
      live.delete(this);
      super.terminate();
    }
  };
  return live;
}
