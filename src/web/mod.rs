//! The WebAssembly API, for the JavaScript package (`js/mirl.js` wraps it; pages use that).
//! `Engine` holds a network on WebGPU or on the CPU; a `Job` restores one image tile by tile,
//! so JavaScript can report progress and stop between tiles.

mod model;

use std::cell::RefCell;
use std::rc::Rc;

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::bundled::{Bundled, Choice, Pick};
use crate::degrade::Degradation;
use crate::error::{report, Error};
use crate::jpeg_file::JpegFile;
use crate::orientation;
#[cfg(doc)]
use crate::pipeline::DEFAULT_TILE;
use crate::pipeline::{check_size, Options, Restoration, Tile, TileSize, MAX_PIXELS};
use crate::plan::Plan;
use crate::tasks::{Examination, Tasks};
use crate::ticket::{Ticket, TicketSummary};
#[cfg(feature = "wgpu")]
pub use model::webgpu_device;
use model::Model;

thread_local! {
    static PANIC_LISTENER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Runs once when the module starts. A panic is reported to the console with its message and
/// place (wasm itself would only say `unreachable`), and to the JavaScript side (`onPanic`):
/// the panicking task never resolves, so JavaScript must reject what waits on it. The instance
/// lives on: the task's own state is abandoned, and the rest (the CPU engines) is untouched.
/// wasm-bindgen could start a fresh instance instead, but only synchronously, which the main
/// thread refuses for a module over 8 MB.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = JsValue::from_str(&info.to_string());
        PANIC_LISTENER.with(|listener| {
            if let Some(listener) = listener.borrow().as_ref() {
                let _ = listener.call1(&JsValue::NULL, &message);
            }
        });
    }));
}

/// Calls `listener(message)` on every panic. It must not call back into the module
/// synchronously: it runs inside the panic hook.
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(listener: js_sys::Function) {
    PANIC_LISTENER.with(|l| *l.borrow_mut() = Some(listener));
}

/// Bytes of linear memory this instance holds. Memory grows and never shrinks, so this is
/// also its peak.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size::<0>() * 65536) as f64
}

/// The largest image a restore takes, in pixels ([`MAX_PIXELS`]).
#[wasm_bindgen(js_name = maxPixels)]
pub fn max_pixels() -> f64 {
    MAX_PIXELS as f64
}

/// A loaded ticket on one backend.
#[wasm_bindgen]
pub struct Engine {
    model: Rc<Model>,
    info: Rc<TicketSummary>,
}

#[wasm_bindgen]
impl Engine {
    /// Loads a ticket file (`.mirl` bytes) on `backend`: "webgpu" or "cpu". The caller
    /// checks that a WebGPU adapter exists first: burn's WebGPU setup cannot fail gracefully.
    pub async fn create(ticket: Vec<u8>, backend: String) -> Result<Engine, JsValue> {
        Self::load(&ticket, &backend).await
    }

    /// Loads a bundled ticket by name ("allinone" or "osn") on `backend`, as `create`.
    pub async fn bundled(name: String, backend: String) -> Result<Engine, JsValue> {
        let ticket: Bundled = name.parse().map_err(js_error)?;
        Self::load(ticket.bytes(), &backend).await
    }

    async fn load(bytes: &[u8], backend: &str) -> Result<Engine, JsValue> {
        let (ticket, info) = Ticket::read(bytes).map_err(js_error)?;
        let model = match backend {
            "cpu" => Model::cpu(&ticket)?,
            "webgpu" => Model::webgpu(&ticket).await?,
            other => {
                return Err(bad_input(format!(
                    "unknown backend {other:?} (use \"webgpu\" or \"cpu\")"
                )))
            }
        };
        Ok(Engine {
            model: Rc::new(model),
            info: Rc::new(info.summary),
        })
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.model.name().into()
    }

    /// The ticket's figures as `native-trainer inspect --json` gives them, without the layers.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&*self.info)
    }

    /// Runs the network on one tile from another instance's `Job.tileInput`: planar RGB in
    /// [0, 1] (and the quantization planes, for a ticket that reads them), `height` x `width`. Resolves to the output, for that `Job.addTileOutput`. This is
    /// how a pool of workers shares one restore, each with its own instance and engine.
    #[wasm_bindgen(js_name = runTile)]
    pub async fn run_tile(
        &self,
        input: Vec<f32>,
        height: usize,
        width: usize,
    ) -> Result<Vec<f32>, JsValue> {
        if height == 0 || width == 0 || !height.is_multiple_of(8) || !width.is_multiple_of(8) {
            return Err(bad_input(format!(
                "a tile is {height}x{width}: both sides must be positive multiples of 8"
            )));
        }
        let channels = self.info.config.in_channels();
        if input.len() != channels * height * width {
            return Err(bad_input(format!(
                "a {height}x{width} tile has {} values, not {}",
                input.len(),
                channels * height * width
            )));
        }
        self.model
            .forward(input, [1, channels, height, width])
            .await
    }

    /// Prepares the removal of `tasks` (as `native-trainer restore --tasks`: "auto", "all",
    /// "none" or names joined by commas) from an RGBA image (alpha is passed through), in
    /// tiles of `tile` pixels (none: [`DEFAULT_TILE`]), at most as large as the memory budget
    /// allows for this network ([`TileSize::within_budget`]). A whole photo in one pass would need more
    /// memory than wasm32 can address above a few megapixels. `jpeg`, where the photo came
    /// as a JPEG file, is that file: its header tells how the photo was compressed.
    /// `chosen`, where this engine's ticket was picked for the photo, is what `chooseTicket`
    /// returned for it (the photo is then not examined again, and `jpeg` is not read).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        tile: Option<u32>,
        tasks: String,
        jpeg: Option<Vec<u8>>,
        chosen: JsValue,
    ) -> Result<Job, JsValue> {
        let tasks: Tasks = tasks.parse().map_err(js_error)?;
        let (examined, pick) = if chosen.is_undefined() || chosen.is_null() {
            (None, None)
        } else {
            let chosen: Chosen = serde_wasm_bindgen::from_value(chosen)
                .map_err(|e| bad_input(format!("not a chooseTicket result: {e}")))?;
            (Some(chosen.examined), Some(chosen.pick))
        };
        let (img, orientation) = stored_photo(rgba, width, height, jpeg.as_deref())?;
        let jpeg = match (&examined, jpeg) {
            (None, Some(file)) => Some(JpegFile::read(&file).map_err(js_error)?),
            _ => None,
        };
        let tile =
            TileSize::from(tile).within_budget(self.info.config.activation_bytes_per_pixel());
        let mut job = Restoration::from_rgba(
            img,
            &Options {
                jpeg,
                examined,
                pick,
                orientation,
                ..Options::new(tasks, tile).for_ticket(&self.info.provenance)
            },
        )
        .map_err(js_error)?;
        job.set_quality_input(self.info.config.quality_map);
        let plan = RefCell::new(job.plan().clone());
        Ok(Job {
            model: self.model.clone(),
            state: Rc::new(RefCell::new(Some(job))),
            plan,
        })
    }
}

/// One image being restored.
#[wasm_bindgen]
pub struct Job {
    model: Rc<Model>,
    state: Rc<RefCell<Option<Restoration>>>,
    /// What the restore removes; once finished, with the check's outcome.
    plan: RefCell<Plan>,
}

#[wasm_bindgen]
impl Job {
    /// Number of tiles; they run in order.
    #[wasm_bindgen(getter)]
    pub fn tiles(&self) -> usize {
        self.state.borrow().as_ref().map_or(0, |j| j.tiles().len())
    }

    /// Runs tile `i`; resolves when its output is blended in.
    pub fn run(&self, i: usize) -> js_sys::Promise {
        let (model, state) = (self.model.clone(), self.state.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let input = {
                let guard = state.borrow();
                let job = guard
                    .as_ref()
                    .ok_or_else(|| bad_input("this restore has finished"))?;
                if i >= job.tiles().len() {
                    return Err(bad_input(format!("no tile {i}")));
                }
                job.tile_input(i)
            };
            let output = model.forward(input.0, input.1).await?;
            let mut guard = state.borrow_mut();
            let job = guard
                .as_mut()
                .ok_or_else(|| bad_input("this restore has finished"))?;
            job.add_tile_output(i, &output).map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The network input for tile `i` (planar RGB in [0, 1], `tileHeight` x `tileWidth`), for
    /// an engine elsewhere (`Engine.runTile`).
    #[wasm_bindgen(js_name = tileInput)]
    pub fn tile_input(&self, i: usize) -> Result<Vec<f32>, JsValue> {
        let guard = self.state.borrow();
        let job = guard
            .as_ref()
            .ok_or_else(|| bad_input("this restore has finished"))?;
        if i >= job.tiles().len() {
            return Err(bad_input(format!("no tile {i}")));
        }
        Ok(job.tile_input(i).0)
    }

    /// Every tile's height in pixels (tiles are all one size; 0 without tiles).
    #[wasm_bindgen(getter, js_name = tileHeight)]
    pub fn tile_height(&self) -> usize {
        self.first_tile().map_or(0, |t| t.height)
    }

    /// Every tile's width in pixels.
    #[wasm_bindgen(getter, js_name = tileWidth)]
    pub fn tile_width(&self) -> usize {
        self.first_tile().map_or(0, |t| t.width)
    }

    fn first_tile(&self) -> Option<Tile> {
        self.state.borrow().as_ref()?.tiles().first().copied()
    }

    /// What the restore removes and what was found in the photo (`Plan`, camelCase); after
    /// `finish`, whether `auto` held the restore back.
    pub fn plan(&self) -> Result<JsValue, JsValue> {
        to_js(&*self.plan.borrow())
    }

    /// Blends in tile `i`'s output from `Engine.runTile`; tiles are blended in order.
    #[wasm_bindgen(js_name = addTileOutput)]
    pub fn add_tile_output(&self, i: usize, output: &[f32]) -> Result<(), JsValue> {
        let mut guard = self.state.borrow_mut();
        let job = guard
            .as_mut()
            .ok_or_else(|| bad_input("this restore has finished"))?;
        job.add_tile_output(i, output).map_err(js_error)
    }

    /// The restored RGBA bytes, once every tile has run.
    pub fn finish(&self) -> Result<Vec<u8>, JsValue> {
        let job = self
            .state
            .borrow_mut()
            .take()
            .ok_or_else(|| bad_input("this restore has finished"))?;
        let (image, plan) = job.finish().map_err(js_error)?;
        *self.plan.borrow_mut() = plan;
        Ok(image.into_rgba8().into_raw())
    }
}

/// A photo examined and the bundled ticket picked for it, as `chooseTicket` returns them.
#[derive(Serialize, serde::Deserialize)]
struct Chosen {
    examined: Examination,
    pick: Pick,
}

/// Examines a photo (RGBA) and picks the bundled ticket that restores it: `ticket` is "auto"
/// (the OSN ticket for a JPEG that shows no noise, the all-in-one ticket otherwise),
/// "allinone" or "osn"; `tasks` and `jpeg` as `Engine.start`. Returns `{ examined, pick:
/// { ticket, why } }`, for `Engine.start` on the engine of `pick.ticket`.
#[wasm_bindgen(js_name = chooseTicket)]
pub fn choose_ticket(
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    tasks: String,
    jpeg: Option<Vec<u8>>,
    ticket: String,
) -> Result<JsValue, JsValue> {
    let tasks: Tasks = tasks.parse().map_err(js_error)?;
    let choice: Choice = ticket.parse().map_err(js_error)?;
    let (img, _) = stored_photo(rgba, width, height, jpeg.as_deref())?;
    let jpeg = jpeg
        .map(|file| JpegFile::read(&file))
        .transpose()
        .map_err(js_error)?;
    let examined = Examination::of(&img, jpeg);
    let chosen = Chosen {
        pick: choice.pick(&tasks, &examined),
        examined,
    };
    to_js(&chosen)
}

/// `value` as a plain JavaScript object (maps as objects, 64-bit numbers as numbers), as
/// JSON would give it.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| bad_input(e.to_string()))
}

/// `rgba` as an image of `width` x `height`, its size checked.
fn rgba_image(rgba: Vec<u8>, width: u32, height: u32) -> Result<RgbaImage, JsValue> {
    check_size(width, height).map_err(js_error)?;
    let expected = width as usize * height as usize * 4;
    if rgba.len() != expected {
        return Err(bad_input(format!(
            "a {width}x{height} RGBA image has {expected} bytes, not {}",
            rgba.len()
        )));
    }
    Ok(RgbaImage::from_raw(width, height, rgba).expect("length checked"))
}

/// A photo as the browser decoded it (turned as its file's orientation says), turned back to
/// how the file stores it, where a JPEG file's blocks lie ([`crate::orientation`]); and that
/// orientation, which the restore turns its result by.
fn stored_photo(
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    file: Option<&[u8]>,
) -> Result<(RgbaImage, Orientation), JsValue> {
    let shown = rgba_image(rgba, width, height)?;
    let orientation = file.map_or(Orientation::NoTransforms, orientation::of_file);
    Ok((orientation::stored(shown, orientation), orientation))
}

/// `e` as a JavaScript `Error`: the message carries the whole chain of causes (JavaScript
/// shows only the message), and `code` the kind ([`Error::code`]) for callers to branch on.
fn js_error(e: Error) -> JsValue {
    let error = js_sys::Error::new(&report(&e));
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
    error.into()
}

/// An [`Error::Input`] as a JavaScript error: what a caller passed is unusable.
fn bad_input(message: impl Into<String>) -> JsValue {
    js_error(Error::Input(message.into()))
}

/// PSNR and SSIM of `test` against `reference` (RGBA, alpha ignored), as `native-trainer metrics`.
#[wasm_bindgen(js_name = compareRgba)]
pub fn compare_rgba(
    reference: &[u8],
    test: &[u8],
    width: u32,
    height: u32,
) -> Result<JsValue, JsValue> {
    let rgb = |rgba: &[u8]| -> Result<image::RgbImage, JsValue> {
        if rgba.len() != width as usize * height as usize * 4 {
            return Err(bad_input("the pixel data does not match the image size"));
        }
        let rgba = RgbaImage::from_raw(width, height, rgba.to_vec()).expect("length checked");
        Ok(DynamicImage::ImageRgba8(rgba).to_rgb8())
    };
    let (a, b) = (rgb(reference)?, rgb(test)?);
    let scores = Scores {
        psnr: crate::metrics::psnr(&a, &b).map_err(js_error)?,
        ssim: crate::metrics::ssim(&a, &b).map_err(js_error)?,
    };
    serde_wasm_bindgen::to_value(&scores).map_err(|e| bad_input(e.to_string()))
}

#[derive(Serialize)]
struct Scores {
    psnr: f64,
    ssim: f64,
}

/// Degrades an RGBA image (alpha kept) as `native-trainer degrade --kind KIND --seed SEED`.
#[wasm_bindgen(js_name = degradeRgba)]
pub fn degrade_rgba(
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    kind: &str,
    seed: u64,
) -> Result<Vec<u8>, JsValue> {
    check_size(width, height).map_err(js_error)?;
    if rgba.len() != width as usize * height as usize * 4 {
        return Err(bad_input("the pixel data does not match the image size"));
    }
    let kind: Degradation = kind.parse().map_err(js_error)?;
    let rgba = RgbaImage::from_raw(width, height, rgba).expect("length checked");
    let rgb = DynamicImage::ImageRgba8(rgba.clone()).to_rgb8();
    let out = kind.apply(&rgb, seed).map_err(js_error)?;
    if out.dimensions() != (width, height) {
        return Err(bad_input(format!(
            "{kind} resizes or crops the photo ({width}x{height} to {}x{}): use a degradation that keeps its size",
            out.width(),
            out.height()
        )));
    }
    let mut result = rgba;
    for (dst, src) in result.pixels_mut().zip(out.pixels()) {
        dst.0[..3].copy_from_slice(&src.0);
    }
    Ok(result.into_raw())
}
