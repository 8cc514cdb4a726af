//! The network against the reference: parameter names and counts, and the promptir-tiny
//! fixture's output on the CPU backend (and on wgpu when built with the `wgpu` feature).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::{Tensor, TensorData};
use mirl::params::{read_param_names, HostTensor, NamedParams};
use mirl::ticket::{Precision, Provenance, Ticket};
use mirl::ModelBackend;
use mirl::PromptIrConfig;

fn config(name: &str) -> PromptIrConfig {
    let text = std::fs::read_to_string(common::fixture(name).join("config.json")).unwrap();
    PromptIrConfig::from_json(&text).unwrap()
}

fn tiny_weights() -> NamedParams {
    let bytes = std::fs::read(common::fixture("promptir-tiny/weights.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, v)| {
            let t = HostTensor::from_safetensors(&name, &v).unwrap();
            (name, t)
        })
        .collect()
}

#[test]
fn paper_preset_matches_the_reference_parameter_count() {
    let paper = PromptIrConfig::preset("paper").unwrap();
    assert_eq!(paper.num_parameters(), 35_376_967);
    assert_eq!(paper, config("mirl-paper-sparse"));
}

#[test]
fn preset_sizes_and_compute() {
    let small = PromptIrConfig::preset("small").unwrap();
    assert_eq!(small, config("promptir-tiny"));
    assert_eq!(small.num_parameters(), 1_494_342);
    for name in mirl::config::PRESETS {
        let cfg = PromptIrConfig::preset(name).unwrap();
        cfg.validate().unwrap();
        println!(
            "{name}: {} parameters, {:.1} GMAC/MP",
            cfg.num_parameters(),
            cfg.macs_per_pixel() / 1e3
        );
    }
    // Measured on the reference in PyTorch: 5,270 and 203 GFLOP per megapixel for the paper and
    // small networks (2 FLOPs per multiply-add). Elementwise work is not counted: within 1%.
    let paper = PromptIrConfig::preset("paper").unwrap().macs_per_pixel();
    assert!((2.0 * paper / 1e3 / 5270.0 - 1.0).abs() < 0.01, "{paper}");
    let small = small.macs_per_pixel();
    assert!((2.0 * small / 1e3 / 203.0 - 1.0).abs() < 0.01, "{small}");
    // The figures derived from the module tree equal those of the hand-written table this
    // derivation replaced.
    assert_eq!(paper, 2_635_277.625);
    assert_eq!(small, 101_311.562_5);
}

#[test]
fn derived_layout_equals_the_reference_checkpoint() {
    // Names and shapes read from the module tree against the reference's own weights.
    let reference: Vec<(String, Vec<usize>)> = tiny_weights()
        .into_iter()
        .map(|(name, t)| (name, t.shape))
        .collect();
    let mut ours = config("promptir-tiny").parameter_shapes();
    ours.sort();
    assert_eq!(ours, reference);
    // Every parameter the network holds is in the layout, and only those.
    let cfg = PromptIrConfig::preset("small").unwrap();
    let names = read_param_names(&cfg.init::<burn::backend::Flex>(&Default::default()));
    let layout: std::collections::BTreeSet<String> =
        cfg.layout().into_iter().map(|p| p.name).collect();
    assert_eq!(names, layout);
}

#[test]
fn layers_run_at_the_resolution_of_their_level() {
    let layout = PromptIrConfig::preset("tiny").unwrap().layout();
    let area = |name: &str| layout.iter().find(|p| p.name == name).unwrap().area;
    for (name, expected) in [
        ("patch_embed.proj.weight", 1.0),
        ("down1_2.body.0.weight", 1.0),
        ("encoder_level2.0.attn.qkv.weight", 0.25),
        ("latent.0.ffn.dwconv.weight", 1.0 / 64.0),
        ("prompt3.conv3x3.weight", 1.0 / 64.0),
        ("up4_3.body.0.weight", 1.0 / 64.0),
        ("reduce_chan_level3.weight", 1.0 / 16.0),
        ("noise_level1.attn.temperature", 0.25),
        ("up2_1.body.0.weight", 0.25),
        ("refinement.0.norm1.body.weight", 1.0),
        ("output.weight", 1.0),
    ] {
        assert_eq!(area(name), expected, "{name}");
    }
    let blocks = PromptIrConfig::preset("paper").unwrap().attention_layouts();
    // 4+6+6+8 encoder and latent blocks, 6+6+4 decoder, 4 refinement, 3 prompt fusions.
    assert_eq!(blocks.len(), 24 + 16 + 4 + 3);
    let latent = blocks.iter().find(|b| b.block == "latent.0").unwrap();
    assert_eq!(
        (latent.channels, latent.heads, latent.hidden),
        (384, 8, 1021)
    );
}

#[test]
fn init_follows_pytorch_defaults() {
    let cfg = PromptIrConfig::preset("tiny").unwrap();
    let model = cfg.init::<burn::backend::Flex>(&Default::default());
    let params = mirl::params::read_params(&model);
    let qkv = &params["encoder_level1.0.attn.qkv.weight"]; // fan_in = 8
    let bound = 1.0 / 8f32.sqrt();
    assert!(qkv.data.iter().all(|v| v.abs() <= bound));
    assert!(qkv.data.iter().any(|v| v.abs() > bound * 0.8));
    assert!(params["encoder_level1.0.norm1.body.weight"]
        .data
        .iter()
        .all(|&v| v == 1.0));
    assert!(params["encoder_level1.0.norm1.body.bias"]
        .data
        .iter()
        .all(|&v| v == 0.0));
    assert!(params["latent.0.attn.temperature"]
        .data
        .iter()
        .all(|&v| v == 1.0));
    let prompt = &params["prompt1.prompt_param"];
    assert!(prompt.data.iter().all(|&v| (0.0..1.0).contains(&v)));
}

fn run_tiny_fixture<B: ModelBackend>(device: &B::Device) -> f32 {
    let ticket = Ticket::new(
        config("promptir-tiny"),
        tiny_weights(),
        Precision::F32,
        Provenance::default(),
    )
    .unwrap();
    let model = ticket.build::<B>(device).unwrap();
    let io = common::fixture("promptir-tiny/io.safetensors");
    let (shape, input) = common::read_tensor(&io, "input");
    let (_, expected) = common::read_tensor(&io, "output");
    let x = Tensor::<B, 4>::from_data(TensorData::new(input, shape), device);
    let out = model
        .forward(x)
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap();
    common::max_abs_diff(&out, &expected)
}

#[test]
fn tiny_fixture_matches_reference_on_cpu() {
    let err = run_tiny_fixture::<burn::backend::Flex>(&Default::default());
    println!("promptir-tiny max abs error on flex: {err:e}");
    assert!(err <= 1e-4, "max abs error {err}");
}

#[cfg(feature = "wgpu")]
#[test]
fn tiny_fixture_matches_reference_on_wgpu() {
    let err = run_tiny_fixture::<burn::backend::Wgpu>(&Default::default());
    println!("promptir-tiny max abs error on wgpu: {err:e}");
    assert!(err <= 1e-4, "max abs error {err}");
}

/// A network that reads the JPEG quantization takes two constant planes after R, G and B and
/// still outputs RGB; its ticket keeps the setting, and a restore feeds it the planes of the
/// quality the photo's file (or pixels) tell, so the same photo restores differently with
/// another quality in its header.
#[test]
fn a_network_that_reads_the_quantization_takes_its_planes() {
    use image::DynamicImage;
    use mirl::degrade::JpegSettings;
    use mirl::jpeg_file::JpegFile;
    use mirl::pipeline::{restore, Options, TileSize};
    use mirl::tasks::Tasks;
    type B = burn::backend::Flex;
    let device = Default::default();
    let reading = PromptIrConfig {
        quality_map: true,
        ..PromptIrConfig::preset("tiny").unwrap()
    };
    assert_eq!(reading.in_channels(), 5);
    let model = reading.init::<B>(&device);
    assert!(model.reads_quality());
    let ticket = Ticket::from_module(
        reading.clone(),
        &model,
        Precision::F32,
        Provenance::default(),
    )
    .unwrap();
    let back = Ticket::from_bytes(&ticket.to_bytes().unwrap()).unwrap();
    assert!(back.config.quality_map, "the ticket keeps the setting");
    let model = back.build::<B>(&device).unwrap();
    let out = model.forward(Tensor::<B, 4>::zeros([1, 5, 16, 16], &device));
    assert_eq!(out.dims(), [1, 3, 16, 16]);

    let photo = image::RgbImage::from_fn(48, 40, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])
    });
    let restored = |quality: u8| {
        let options = Options {
            jpeg: Some(
                JpegFile::read(&JpegSettings::new(quality).encode(&photo).unwrap()).unwrap(),
            ),
            ..Options::new(Tasks::all(), TileSize::Whole)
        };
        restore(
            &model,
            &DynamicImage::ImageRgb8(photo.clone()),
            &options,
            |_, _| {},
            &device,
        )
        .unwrap()
        .0
        .to_rgb8()
    };
    assert_ne!(restored(20), restored(80), "the planes reach the network");
    // The reference's configs do not have the setting, and read as without it.
    assert!(!config("promptir-tiny").quality_map);
}

/// `pipeline::restore` keeps tiles within the memory budget whatever the caller asks: a tile
/// side over the network's cap is cut to it (more tiles), and the default is too.
#[test]
fn restores_keep_tiles_within_the_memory_budget() {
    use image::DynamicImage;
    use mirl::pipeline::{max_tile, restore, Options, TileSize};
    use mirl::tasks::Tasks;
    type B = burn::backend::Flex;
    let device = Default::default();
    let tiny = PromptIrConfig::preset("tiny").unwrap();
    let model = tiny.init::<B>(&device);
    assert_eq!(
        model.activation_bytes_per_pixel(),
        tiny.activation_bytes_per_pixel()
    );
    let cap = max_tile(&tiny) as usize;
    // Wider than the cap, one tile high: one tile if the asked side were taken.
    let photo = DynamicImage::ImageRgb8(image::RgbImage::new(cap as u32 + 64, 16));
    let tiles = |tile: TileSize| {
        let mut total = 0;
        restore(
            &model,
            &photo,
            &Options::new(Tasks::all(), tile),
            |_, n| total = n,
            &device,
        )
        .unwrap();
        total
    };
    assert_eq!(tiles(TileSize::Whole), 1);
    assert_eq!(tiles(TileSize::Side(4096)), 2, "the asked side is capped");
    assert!(tiles(TileSize::Side(256)) > 2);
}
