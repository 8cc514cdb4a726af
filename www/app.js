// The mirl demo: load a photo (pick, drop, paste or a sample), optionally degrade it, restore
// it in a Worker on WebGPU or the CPU, and compare. Everything stays in the page.
import { WorkerRestorer } from './pkg/mirl-worker.js';
import { readImage } from './pkg/mirl.js';

/** Files above this are refused before decoding (the library also caps pixels at 32 MP). */
const MAX_FILE_BYTES = 100 * 1024 * 1024;

const $ = (id) => document.getElementById(id);

let restorer = null; // a Promise of the WorkerRestorer on the chosen backend
let photo = null; // { name, image: ImageData, clean: ImageData | null }
let run = null; // the AbortController of the restore in flight
let finished = 0; // restores shown to the end (data-restored: a script waits for its own)

function setState(state) {
  document.body.dataset.state = state;
}

function say(text) {
  $('status').textContent = text;
}

function showError(error) {
  const box = $('message');
  box.textContent = error?.message ?? String(error);
  box.hidden = false;
  setState('error');
}

function clearError() {
  $('message').hidden = true;
}

const backendName = (b) => ({ webgpu: 'WebGPU', cpu: 'the CPU' })[b] ?? b;
const choice = () => document.querySelector('input[name=backend]:checked').value;

/** The restorer for the chosen backend, created on first use. */
function getRestorer() {
  if (!restorer) {
    // On the CPU, tiles run on one worker per core.
    const pending = WorkerRestorer.create({ backend: choice(), threads: 'auto' });
    restorer = pending;
    pending.then(showTicket, () => {
      if (restorer === pending) restorer = null; // let the next call try again
    });
  }
  return restorer;
}

function dropRestorer() {
  const old = restorer;
  restorer = null;
  old?.then((r) => r.free(), () => {});
}

function showTicket(r) {
  const info = r.info();
  const facts = [
    ...(info.ticket ? [['Ticket used', ticketNames[info.ticket]]] : []),
    ['Network', `PromptIR, width ${info.config.dim}`],
    ['Parameters', info.parameters.toLocaleString('en')],
    ['Kept (non-zero)', `${info.nonzero.toLocaleString('en')} (${(100 * info.density).toFixed(1)}%)`],
    ['Ticket', `${(info.file_bytes / 1024).toFixed(0)} KB, ${info.precision}`],
    ['Running on', backendName(r.backend)],
  ];
  $('ticket').replaceChildren(
    ...facts.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]),
  );
  document.body.dataset.backend = r.backend;
}

/** The "degrade first" chain as `native-trainer degrade --kind` spells it, or null. */
function degradation() {
  const parts = [];
  if ($('haze').checked) parts.push('haze');
  if ($('rain').checked) parts.push('rain');
  if ($('noise-on').checked) parts.push(`noise:${$('noise').value}`);
  if ($('jpeg-on').checked) parts.push($('reshare').checked ? `osn:${$('jpeg').value}:30` : `jpeg:${$('jpeg').value}`);
  return parts.length ? parts.join('+') : null;
}

function draw(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(image, 0, 0);
  $('compare').style.setProperty('--aspect', image.width / image.height);
}

/** Stops the restore in flight, if any; its result never shows. */
function cancelRun() {
  run?.abort();
  run = null;
  $('cancel').hidden = true;
}

const taskNames = { noise: 'noise', jpeg: 'JPEG artefacts', rain: 'rain', haze: 'haze' };
const ticketNames = { osn: 'OSN (social-network photos)', allinone: 'all-in-one (noise, JPEG, rain, haze)' };

/** What the restore found in the photo and removed, in words (data-removed for tests). */
function showPlan(plan) {
  const box = $('plan');
  const { noiseSigma, jpegQuality, haze } = plan.findings;
  const file = plan.jpegFile
    ? ` The JPEG file says quality ${plan.jpegFile.quality}, ${plan.jpegFile.fullChroma ? '4:4:4' : '4:2:0'}${plan.jpegFile.progressive ? ', progressive' : ''}.`
    : '';
  const found = `Found: noise σ ${noiseSigma.toFixed(1)}, ${jpegQuality ? `JPEG quality ${jpegQuality}` : 'no JPEG quantization'}, dark channel ${haze.toFixed(2)}.${file}`;
  const removed = plan.tasks.map((t) => taskNames[t]).join(', ');
  box.textContent =
    plan.heldBack ? `${found} Removing ${removed} changed the photo more than that explains, so it is shown as it was.`
    : plan.tasks.length === 0 ? `${found} Nothing to remove: the photo is shown as it was.`
    : `${found} Removed ${removed}${plan.auto ? ' (auto)' : ''}.`;
  if (plan.ticket && plan.tasks.length) box.textContent += ` Ticket: ${ticketNames[plan.ticket.ticket]}, as ${plan.ticket.why}.`;
  box.dataset.removed = plan.heldBack ? '' : plan.tasks.join(',');
  box.dataset.ticket = plan.ticket?.ticket ?? '';
  box.hidden = false;
}

function resetResult() {
  const link = $('download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.removeAttribute('href');
  link.setAttribute('aria-disabled', 'true');
  $('scores').hidden = true;
  $('plan').hidden = true;
  $('progress').value = 0;
}

/** Degrades (if asked), restores and scores the current photo; a newer call cancels it. */
async function process() {
  if (!photo) return;
  cancelRun();
  const controller = (run = new AbortController());
  const { signal } = controller;
  clearError();
  resetResult();
  setState('restoring');
  $('cancel').hidden = false;
  try {
    say('Loading the network…');
    const r = await getRestorer();
    if (signal.aborted) return;
    const kind = degradation();
    let input = photo.image;
    let clean = photo.clean;
    // The photo's own JPEG file, until the page degrades it further.
    let jpeg = photo.jpeg;
    if (kind) {
      jpeg = undefined;
      say(`Degrading: ${kind}…`);
      input = await r.degrade(photo.image, kind, 1);
      clean = photo.image;
      if (signal.aborted) return;
    }
    draw($('before'), input);
    draw($('after'), input);
    say(`Restoring on ${backendName(r.backend)}…`);
    const start = performance.now();
    let plan = null;
    const output = await r.restore(input, {
      tasks: $('tasks').value,
      jpeg,
      onPlan: (p) => (plan = p),
      signal,
      onProgress: (done, total) => {
        $('progress').value = done / total;
        say(`Restoring on ${backendName(r.backend)}: tile ${done} of ${total}`);
      },
    });
    const seconds = (performance.now() - start) / 1000;
    draw($('after'), output);
    showTicket(r); // the backend may have changed (a lost GPU finishes on the CPU)
    document.body.dataset.seconds = seconds.toFixed(3);
    const took = seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
    say(`Restored ${output.width}×${output.height} in ${took} on ${backendName(r.backend)}.`);
    showPlan(plan);
    await offerDownload();
    if (clean) await showScores(r, clean, input, output);
    else say(`${$('status').textContent} No clean original to score against: tick a degradation above to see scores.`);
    if (!signal.aborted) {
      document.body.dataset.restored = String(++finished);
      setState('done');
    }
  } catch (e) {
    if (signal.aborted || e?.name === 'AbortError') return; // Cancel or a newer restore took over
    showError(e);
    say('The restore failed.');
  } finally {
    if (run === controller) {
      run = null;
      $('cancel').hidden = true;
    }
  }
}

async function showScores(r, clean, input, output) {
  const [before, after] = await Promise.all([r.compare(clean, input), r.compare(clean, output)]);
  const dB = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} dB` : '∞ (identical)');
  $('psnr-in').textContent = dB(before.psnr);
  $('ssim-in').textContent = before.ssim.toFixed(4);
  $('psnr-out').textContent = dB(after.psnr);
  $('ssim-out').textContent = after.ssim.toFixed(4);
  Object.assign($('scores').dataset, { psnrIn: before.psnr, psnrOut: after.psnr, ssimIn: before.ssim, ssimOut: after.ssim });
  $('scores').hidden = false;
}

function offerDownload() {
  return new Promise((resolve) =>
    $('after').toBlob((blob) => {
      const link = $('download');
      link.href = URL.createObjectURL(blob);
      link.download = `${photo.name}-restored.png`;
      link.setAttribute('aria-disabled', 'false');
      resolve();
    }, 'image/png'),
  );
}

let loads = 0; // counts photo loads: only the newest one may go on to restore

/**
 * Loads a photo (`read` resolves to `{ name, image, clean }`), then restores it. A new load
 * stops the restore in flight at once, and an older load still decoding is dropped when it
 * ends, so the photo chosen last is the one restored, whatever order the decodes finish in.
 * An error leaves the last photo and its result as they were.
 */
async function load(read) {
  const mine = ++loads;
  cancelRun();
  clearError();
  setState('loading');
  let next;
  try {
    next = await read();
  } catch (e) {
    if (mine === loads) showError(e);
    return;
  }
  if (mine !== loads) return;
  photo = next;
  await process();
}

/** A photo from the user: checked, decoded, then restored. */
function loadFile(file) {
  return load(async () => {
    if (!file) throw new Error('that was not a file: drop or paste an image file');
    const name = file.name || 'pasted image';
    if (file.size > MAX_FILE_BYTES) {
      throw new Error(`${name} is ${(file.size / 1024 / 1024).toFixed(0)} MB; this page takes files up to ${MAX_FILE_BYTES / 1024 / 1024} MB`);
    }
    try {
      const { imageData: image, jpeg } = await readImage(file);
      return { name: name.replace(/\.[^.]*$/, ''), image, jpeg, clean: null };
    } catch (e) {
      throw new Error(`${name}: ${e.message}`);
    }
  });
}

/**
 * A bundled sample: the degraded photo and its clean original. A sample whose damage auto
 * leaves alone (haze) says what to remove, as a visitor who knows would choose.
 */
function loadSample(button) {
  if (button.dataset.tasks) $('tasks').value = button.dataset.tasks;
  return load(async () => {
    const fetchImage = async (file) => {
      const response = await fetch(`samples/${file}`);
      if (!response.ok) throw new Error(`cannot load the sample ${file}: HTTP ${response.status}`);
      return readImage(await response.blob());
    };
    const [sample, clean] = await Promise.all([fetchImage(button.dataset.sample), fetchImage(button.dataset.clean)]);
    return { name: button.dataset.sample.replace(/\.[^.]*$/, ''), image: sample.imageData, jpeg: sample.jpeg, clean: clean.imageData };
  });
}

function wire() {
  $('file').addEventListener('change', (e) => {
    loadFile(e.target.files[0]);
    e.target.value = ''; // picking the same file again still fires
  });
  for (const button of $('samples').querySelectorAll('button')) button.addEventListener('click', () => loadSample(button));

  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    loadFile(e.dataTransfer?.files?.[0]);
  });
  document.addEventListener('paste', (e) => {
    const file = e.clipboardData?.files?.[0];
    if (file) loadFile(file);
    else showError(new Error('the clipboard holds no image'));
  });

  $('degrade').addEventListener('submit', (e) => {
    e.preventDefault();
    if (photo) process();
    else showError(new Error('choose a photo or a sample first'));
  });
  for (const [range, out] of [['noise', 'noise-out'], ['jpeg', 'jpeg-out']]) {
    $(range).addEventListener('input', () => ($(out).textContent = $(range).value));
  }
  $('jpeg-on').addEventListener('change', () => ($('reshare').disabled = !$('jpeg-on').checked));
  $('tasks').addEventListener('change', () => photo && process());
  $('reshare').disabled = true;

  $('backend').addEventListener('change', () => {
    cancelRun();
    dropRestorer();
    if (photo) process();
    else start();
  });
  $('cancel').addEventListener('click', () => {
    cancelRun();
    say('Cancelled.');
    setState('cancelled');
  });

  for (const radio of document.querySelectorAll('input[name=view]')) {
    radio.addEventListener('change', () => {
      $('compare').classList.toggle('side', radio.value === 'side');
      $('compare').classList.toggle('slider', radio.value === 'slider');
    });
  }
  $('zoom').addEventListener('change', () => $('compare').classList.toggle('actual', $('zoom').checked));
  $('split').addEventListener('input', () => $('compare').style.setProperty('--split', `${$('split').value}%`));

  // Leaving the page stops the restore and the worker.
  window.addEventListener('pagehide', () => {
    cancelRun();
    dropRestorer();
  });
}

async function start() {
  setState('starting');
  say('Loading the network…');
  try {
    const r = await getRestorer();
    say(`Ready on ${backendName(r.backend)}. Choose, drop or paste a photo, or try a sample.`);
    $('apply').disabled = false;
    setState('ready');
  } catch (e) {
    showError(e);
    say('The network could not be loaded on this backend; choose another above.');
  }
}

wire();
start();
