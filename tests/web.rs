//! Browser tests (wasm-bindgen-test): `wasm-pack test --headless --chrome`. The WebAssembly
//! build reproduces the reference on WebGPU and on the CPU, its tiled restore equals the native
//! pipeline's, and bad tickets and images come back as errors with clear messages.

#![cfg(target_arch = "wasm32")]

use burn::backend::wgpu::Wgpu;
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use mirl::config::UNUSED_MODULES;
use mirl::params::{HostTensor, NamedParams};
use mirl::ticket::{Precision, Provenance, Ticket};
use mirl::web::{choose_ticket, degrade_rgba, webgpu_device, Engine};
use mirl::ModelBackend;
use mirl::PromptIrConfig;
use safetensors::SafeTensors;
use std::str::FromStr;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// The fixtures of `$MIRL_SHARED` (or ../shared), located by build.rs.
#[cfg(mirl_no_shared)]
compile_error!("the browser tests embed the shared fixtures: set MIRL_SHARED to the folder that holds fixtures/ and data/");
const CONFIG: &str = include_str!(concat!(
    env!("MIRL_SHARED_DIR"),
    "/fixtures/promptir-tiny/config.json"
));
const WEIGHTS: &[u8] = include_bytes!(concat!(
    env!("MIRL_SHARED_DIR"),
    "/fixtures/promptir-tiny/weights.safetensors"
));
const IO: &[u8] = include_bytes!(concat!(
    env!("MIRL_SHARED_DIR"),
    "/fixtures/promptir-tiny/io.safetensors"
));
const TILED_INPUT: &[u8] = include_bytes!("data/web/tiled-input.png");
const TILED_EXPECTED: &[u8] = include_bytes!("data/web/tiled-expected.png");

fn tensors(bytes: &[u8]) -> NamedParams {
    let st = SafeTensors::deserialize(bytes).unwrap();
    st.tensors()
        .into_iter()
        .filter(|(name, _)| {
            !UNUSED_MODULES
                .iter()
                .any(|m| name.starts_with(&format!("{m}.")))
        })
        .map(|(name, view)| {
            let t = HostTensor::from_safetensors(&name, &view).unwrap();
            (name, t)
        })
        .collect()
}

fn fixture_ticket() -> Ticket {
    let config = PromptIrConfig::from_json(CONFIG).unwrap();
    Ticket::new(
        config,
        tensors(WEIGHTS),
        Precision::F32,
        Provenance::default(),
    )
    .unwrap()
}

async fn fixture_error<B: ModelBackend>(device: &B::Device) -> f32 {
    let io = tensors(IO);
    let (input, expected) = (&io["input"], &io["output"]);
    let model = fixture_ticket().build::<B>(device).unwrap();
    let shape: [usize; 4] = input.shape.clone().try_into().unwrap();
    let x = Tensor::<B, 4>::from_data(TensorData::new(input.data.clone(), shape), device);
    let out = model.forward(x).into_data_async().await.unwrap();
    let out = out.convert::<f32>().into_vec::<f32>().unwrap();
    out.iter()
        .zip(&expected.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[wasm_bindgen_test]
async fn reproduces_the_reference_on_the_cpu() {
    let err = fixture_error::<Flex>(&Default::default()).await;
    console_log!("promptir-tiny on the CPU (wasm): max abs error {err:e}");
    assert!(err < 1e-4, "{err}");
}

#[wasm_bindgen_test]
async fn reproduces_the_reference_on_webgpu() {
    let device = webgpu_device().await;
    let err = fixture_error::<Wgpu>(&device).await;
    console_log!("promptir-tiny on WebGPU: max abs error {err:e}");
    assert!(err < 1e-4, "{err}");
}

/// Restores the test image through the Engine API, as the JavaScript package does, with the
/// network as it is (`all`): what the native pipeline must match.
async fn restore_tiled(backend: &str) -> Vec<u8> {
    let engine = Engine::bundled("allinone".into(), backend.into())
        .await
        .unwrap();
    assert_eq!(engine.backend(), backend);
    let input = image::load_from_memory(TILED_INPUT).unwrap().to_rgba8();
    let (w, h) = input.dimensions();
    let job = engine
        .start(
            input.into_raw(),
            w,
            h,
            Some(32),
            "all".into(),
            None,
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert_eq!(job.tiles(), 6, "76x52 in 32-pixel tiles");
    for i in 0..job.tiles() {
        JsFuture::from(job.run(i)).await.unwrap();
    }
    job.finish().unwrap()
}

fn assert_matches_native(got: &[u8], backend: &str) {
    let want = image::load_from_memory(TILED_EXPECTED)
        .unwrap()
        .to_rgba8()
        .into_raw();
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (*a as i32 - *b as i32).abs())
        .max()
        .unwrap();
    console_log!("tiled restore on {backend}: largest difference from native {worst}/255");
    assert!(
        worst <= 1,
        "{backend}: differs from the native pipeline by {worst}/255"
    );
}

#[wasm_bindgen_test]
async fn tiled_restore_equals_the_native_pipeline_on_the_cpu() {
    assert_matches_native(&restore_tiled("cpu").await, "cpu");
}

#[wasm_bindgen_test]
async fn tiled_restore_equals_the_native_pipeline_on_webgpu() {
    assert_matches_native(&restore_tiled("webgpu").await, "webgpu");
}

/// A JavaScript error's `code` and message.
fn error(e: JsValue) -> (String, String) {
    let code = js_sys::Reflect::get(&e, &"code".into()).unwrap();
    let message = js_sys::Error::from(e).message().into();
    (code.as_string().expect("the error has a code"), message)
}

#[wasm_bindgen_test]
async fn bad_tickets_are_clear_errors() {
    let mut good = fixture_ticket().to_bytes().unwrap();
    let garbage = b"not a ticket at all".to_vec();
    let (code, msg) = error(Engine::create(garbage, "cpu".into()).await.err().unwrap());
    assert_eq!(code, "INVALID_TICKET", "{msg}");
    assert!(msg.contains("ticket") || msg.contains("header"), "{msg}");

    let n = good.len();
    good[n - 3] ^= 0xff;
    let (code, msg) = error(Engine::create(good, "cpu".into()).await.err().unwrap());
    assert_eq!(code, "INVALID_TICKET", "{msg}");
    assert!(msg.contains("checksum"), "{msg}");

    let (code, msg) = error(
        Engine::bundled("allinone".into(), "tpu".into())
            .await
            .err()
            .unwrap(),
    );
    assert_eq!(code, "INVALID_INPUT", "{msg}");
    assert!(msg.contains("unknown backend"), "{msg}");
    let (code, msg) = error(
        Engine::bundled("default".into(), "cpu".into())
            .await
            .err()
            .unwrap(),
    );
    assert_eq!(code, "INVALID_INPUT", "{msg}");
    assert!(msg.contains("use allinone or osn"), "{msg}");
}

/// A JPEG goes to the OSN ticket: `chooseTicket` says so and why, and the engine of that
/// ticket restores with its choice, which the plan reports.
#[wasm_bindgen_test]
async fn a_jpeg_is_restored_with_the_osn_ticket() {
    let photo = image::load_from_memory(TILED_INPUT).unwrap().to_rgb8();
    let degraded = mirl::degrade::Degradation::from_str("jpeg:30")
        .unwrap()
        .degrade(&photo, 0)
        .unwrap();
    let file = degraded.file.clone().expect("a JPEG file");
    let rgba = image::DynamicImage::ImageRgb8(degraded.image).to_rgba8();
    let (w, h) = rgba.dimensions();
    let chosen = choose_ticket(
        rgba.clone().into_raw(),
        w,
        h,
        "auto".into(),
        Some(file.clone()),
        "auto".into(),
    )
    .unwrap();
    let pick = js_sys::Reflect::get(&chosen, &"pick".into()).unwrap();
    let ticket = js_sys::Reflect::get(&pick, &"ticket".into()).unwrap();
    assert_eq!(ticket.as_string().as_deref(), Some("osn"));
    let engine = Engine::bundled("osn".into(), "cpu".into()).await.unwrap();
    let job = engine
        .start(rgba.into_raw(), w, h, None, "auto".into(), None, chosen)
        .unwrap();
    for i in 0..job.tiles() {
        JsFuture::from(job.run(i)).await.unwrap();
    }
    job.finish().unwrap();
    let plan = job.plan().unwrap();
    let removed = js_sys::Reflect::get(&plan, &"tasks".into()).unwrap();
    assert_eq!(js_sys::JSON::stringify(&removed).unwrap(), "[\"jpeg\"]");
    let why = js_sys::Reflect::get(&plan, &"ticket".into()).unwrap();
    let why = js_sys::Reflect::get(&why, &"why".into()).unwrap();
    assert_eq!(
        why.as_string().as_deref(),
        Some("the photo is a JPEG file (quality 30)")
    );
    // A bad choice is named.
    let (code, msg) = error(
        choose_ticket(vec![0; 16], 2, 2, "auto".into(), None, "best".into())
            .err()
            .unwrap(),
    );
    assert_eq!(code, "INVALID_INPUT", "{msg}");
    assert!(msg.contains("unknown ticket \"best\""), "{msg}");
}

#[wasm_bindgen_test]
async fn bad_images_are_clear_errors() {
    let engine = Engine::bundled("allinone".into(), "cpu".into())
        .await
        .unwrap();
    // Each refused start: what it was given, the error code, and what the message names.
    let refused = |rgba: Vec<u8>, size: u32, tasks: &str, jpeg: Option<Vec<u8>>| {
        let e = engine
            .start(
                rgba,
                size,
                size,
                None,
                tasks.into(),
                jpeg,
                JsValue::UNDEFINED,
            )
            .err()
            .expect("refused");
        error(e)
    };
    let cases = [
        (
            refused(vec![0; 12], 2, "auto", None),
            "INVALID_INPUT",
            "16 bytes",
        ),
        (refused(Vec::new(), 0, "auto", None), "EMPTY_IMAGE", "empty"),
        (
            refused(Vec::new(), 10_000, "auto", None),
            "IMAGE_TOO_LARGE",
            "limit",
        ),
        (
            refused(vec![0; 16], 2, "blur", None),
            "INVALID_INPUT",
            "unknown task \"blur\"",
        ),
        // A JPEG file whose header does not read is named as such.
        (
            refused(
                vec![0; 16],
                2,
                "auto",
                Some(vec![0xFF, 0xD8, 0xFF, 0xDB, 0, 4]),
            ),
            "INVALID_JPEG",
            "invalid JPEG file",
        ),
        (
            error(degrade_rgba(vec![0; 16], 2, 2, "snow", 0).err().unwrap()),
            "INVALID_INPUT",
            "snow",
        ),
    ];
    for ((code, msg), want_code, names) in cases {
        assert_eq!(code, want_code, "{msg}");
        assert!(msg.contains(names), "{msg}");
    }
    // The engine still works after errors.
    let job = engine
        .start(
            vec![128; 16 * 16 * 4],
            16,
            16,
            None,
            "all".into(),
            None,
            JsValue::UNDEFINED,
        )
        .unwrap();
    JsFuture::from(job.run(0)).await.unwrap();
    assert_eq!(job.finish().unwrap().len(), 16 * 16 * 4);
    // In `auto`, a flat grey photo needs nothing: no tile runs and it comes back as it was.
    let job = engine
        .start(
            vec![128; 16 * 16 * 4],
            16,
            16,
            None,
            "auto".into(),
            None,
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert_eq!(job.tiles(), 0);
    assert_eq!(job.finish().unwrap(), vec![128; 16 * 16 * 4]);
}

/// Without a tile size a large photo is still cut into tiles of `DEFAULT_TILE`: one pass over
/// a phone photo would need more memory than wasm32 can address (the page saw
/// `RuntimeError: unreachable` at 8 megapixels).
#[wasm_bindgen_test]
async fn large_photos_are_tiled_by_default() {
    let engine = Engine::bundled("allinone".into(), "cpu".into())
        .await
        .unwrap();
    let (w, h) = (3264, 2448);
    let job = engine
        .start(
            vec![128; w * h * 4],
            w as u32,
            h as u32,
            None,
            "all".into(),
            None,
            JsValue::UNDEFINED,
        )
        .unwrap();
    let tile = mirl::pipeline::DEFAULT_TILE as usize;
    assert!(
        job.tiles() >= w.div_ceil(tile) * h.div_ceil(tile),
        "{} tiles",
        job.tiles()
    );
}

/// Largest |a - b| / max(|b|, 1) between a WebGPU result and the CPU's.
async fn gpu_cpu_gap<const D: usize>(gpu: Tensor<Wgpu, D>, cpu: Tensor<Flex, D>) -> f32 {
    let gpu = gpu
        .into_data_async()
        .await
        .unwrap()
        .into_vec::<f32>()
        .unwrap();
    let cpu = cpu.into_data().into_vec::<f32>().unwrap();
    gpu.iter()
        .zip(&cpu)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f32::max)
}

/// The reductions over all pixels of a tile that the network makes (attention's q·kᵀ, the
/// norms of q and k) and the whole network, on WebGPU against the CPU, on tiles past the size
/// (16,384 pixels) where Firefox's WebGPU matrix product goes wrong.
#[wasm_bindgen_test]
async fn webgpu_matches_the_cpu_on_large_tiles() {
    use burn::tensor::TensorPrimitive;
    let device = webgpu_device().await;
    let (mut report, mut worst) = (String::new(), 0.0f32);
    for n in [4096usize, 16384, 20480, 32768] {
        let values: Vec<f32> = (0..8 * n)
            .map(|i| ((i * 7919) % 997) as f32 / 997.0 - 0.5)
            .collect();
        let gpu =
            Tensor::<Wgpu, 4>::from_data(TensorData::new(values.clone(), [1, 1, 8, n]), &device);
        let cpu = Tensor::<Flex, 4>::from_data(
            TensorData::new(values, [1, 1, 8, n]),
            &Default::default(),
        );
        let gram = gpu_cpu_gap(
            Tensor::<Wgpu, 4>::from_primitive(TensorPrimitive::Float(Wgpu::gram(
                gpu.clone().into_primitive().tensor(),
                gpu.clone().into_primitive().tensor(),
            ))),
            Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(Flex::gram(
                cpu.clone().into_primitive().tensor(),
                cpu.clone().into_primitive().tensor(),
            ))),
        )
        .await;
        let norms = gpu_cpu_gap(gpu.powi_scalar(2).sum_dim(3), cpu.powi_scalar(2).sum_dim(3)).await;
        report.push_str(&format!(
            "{n} pixels: q·kᵀ {gram:e}, sums of squares {norms:e}; "
        ));
        worst = worst.max(gram).max(norms);
    }
    let values: Vec<f32> = (0..3 * 128 * 160)
        .map(|i| ((i * 7919) % 997) as f32 / 997.0)
        .collect();
    let gpu_model = fixture_ticket().build::<Wgpu>(&device).unwrap();
    let cpu_model = fixture_ticket().build::<Flex>(&Default::default()).unwrap();
    let gpu =
        Tensor::<Wgpu, 4>::from_data(TensorData::new(values.clone(), [1, 3, 128, 160]), &device);
    let cpu = Tensor::<Flex, 4>::from_data(
        TensorData::new(values, [1, 3, 128, 160]),
        &Default::default(),
    );
    let net = gpu_cpu_gap(gpu_model.forward(gpu), cpu_model.forward(cpu)).await;
    report.push_str(&format!("the network at 160x128: {net:e}"));
    console_log!("WebGPU against the CPU: {report}");
    assert!(worst.max(net) < 1e-4, "{report}");
}
