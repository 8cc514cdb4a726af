//! How much memory a restore takes: a counting allocator around the system one measures the
//! peak bytes live during a forward pass and a tiled restore on the CPU backend.

#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use burn::backend::Flex;
use burn::tensor::Tensor;
use image::{DynamicImage, Rgba, RgbaImage};
use mirl::pipeline::{Options, Restoration, TileSize, DEFAULT_TILE};
use mirl::tasks::Tasks;
use mirl::PromptIrConfig;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The counters are global: tests that read them run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of `f` beyond what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

/// The config's estimate of the activations (which sets the tile size in the browser) bounds
/// the measured peak of a forward pass and is not far above it.
#[test]
#[ignore = "slow: measures whole restores (scripts/test.sh runs it)"]
fn activations_stay_within_the_estimate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for preset in ["tiny", "small"] {
        let config = PromptIrConfig::preset(preset).unwrap();
        let estimate = config.activation_bytes_per_pixel() as f64;
        let model = config.init::<Flex>(&Default::default());
        // The first pass also allocates what burn keeps for the process.
        model.forward(Tensor::zeros([1, 3, 64, 64], &Default::default()));
        // Tile sizes in use; below them a few fixed megabytes weigh on the figure per pixel.
        for side in [256usize, 512] {
            let x = Tensor::<Flex, 4>::zeros([1, 3, side, side], &Default::default());
            let (_, peak) = peak_of(|| model.forward(x).into_data());
            let per_pixel = peak as f64 / (side * side) as f64;
            println!("{preset} {side}x{side}: peak {peak} bytes, {per_pixel:.0} per pixel, estimate {estimate}");
            assert!(
                per_pixel <= estimate,
                "{preset} at {side}: {per_pixel:.0} > {estimate}"
            );
            assert!(
                estimate <= 1.6 * per_pixel,
                "{preset} at {side}: estimate {estimate} is loose"
            );
        }
    }
}

/// Tiling needs, beyond the photo itself, one row of tiles and the tile in flight: a
/// 12-megapixel restore takes no second copy of the photo.
#[test]
#[ignore = "slow: measures whole restores (scripts/test.sh runs it)"]
fn a_tiled_restore_adds_one_row_of_tiles() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (w, h) = (4000u32, 3000u32);
    let photo = RgbaImage::from_fn(w, h, |x, y| Rgba([x as u8, y as u8, (x ^ y) as u8, 255]));
    let expected = photo.clone();
    let (out, peak) = peak_of(|| {
        let mut job =
            Restoration::from_rgba(photo, &Options::new(Tasks::all(), TileSize::Default)).unwrap();
        for i in 0..job.tiles().len() {
            let (data, _) = job.tile_input(i);
            job.add_tile_output(i, &data).unwrap();
        }
        job.finish().unwrap().0
    });
    assert_eq!(out, DynamicImage::ImageRgba8(expected));
    let tile = DEFAULT_TILE as usize;
    let band = 12 * tile * w as usize;
    let in_flight = 2 * 12 * tile * tile;
    println!("12 MP: peak {peak} bytes beyond the photo; one row of tiles {band}, a tile in and out {in_flight}");
    assert!(peak <= band + in_flight + (1 << 20), "{peak} bytes");
}
