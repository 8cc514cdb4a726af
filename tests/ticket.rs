//! The `.mirl` format: round trips at each precision, sizes, and every kind of bad file.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::{BTreeMap, HashMap};

use mirl::params::NamedParams;
use mirl::ticket::{checksum, Precision, Provenance, Ticket};
use mirl::{Error, PromptIrConfig};
use safetensors::tensor::{Dtype, TensorView};

/// A tiny network's weights with 80% of each prunable tensor zeroed (a pruned ticket).
fn pruned_tiny() -> (PromptIrConfig, NamedParams) {
    let cfg = PromptIrConfig::preset("tiny").unwrap();
    let model = cfg.init::<burn::backend::Flex>(&Default::default());
    let mut params = mirl::params::read_params(&model);
    for (name, t) in params.iter_mut() {
        if mirl::config::is_prunable(name) {
            for (i, v) in t.data.iter_mut().enumerate() {
                if i % 5 != 0 {
                    *v = 0.0;
                }
            }
        }
    }
    params
        .get_mut("encoder_level1.0.attn.qkv.weight")
        .unwrap()
        .data[0] = -0.0;
    (cfg, params)
}

/// The same pruned weights on every call (init is random, so they are made once).
fn ticket(precision: Precision) -> Ticket {
    static WEIGHTS: std::sync::OnceLock<(PromptIrConfig, NamedParams)> = std::sync::OnceLock::new();
    let (cfg, params) = WEIGHTS.get_or_init(pruned_tiny).clone();
    let provenance = Provenance {
        source: Some("test".into()),
        rounds: Some(3),
        seed: Some(7),
        ..Default::default()
    };
    Ticket::new(cfg, params, precision, provenance).unwrap()
}

#[test]
fn f32_round_trips_bit_exactly() {
    // Zeros of either sign are pruned weights and decode as +0.0; everything else is exact.
    let t = ticket(Precision::F32);
    let bytes = t.to_bytes().unwrap();
    let back = Ticket::from_bytes(&bytes).unwrap();
    assert_eq!(back.config, t.config);
    assert_eq!(back.provenance, t.provenance);
    for (name, a) in &t.params {
        let b = &back.params[name];
        assert_eq!(a.shape, b.shape);
        let bits = |v: &Vec<f32>| {
            v.iter()
                .map(|x| if *x == 0.0 { 0 } else { x.to_bits() })
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a.data), bits(&b.data), "{name}");
    }
}

#[test]
fn a_ticket_always_writes_the_same_bytes() {
    // The metadata lives in a HashMap, whose order changes from map to map: the header must not.
    let t = ticket(Precision::F16);
    let first = t.to_bytes().unwrap();
    for _ in 0..8 {
        assert_eq!(t.to_bytes().unwrap(), first);
    }
    let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
    let keys = [
        "checksum",
        "config",
        "format",
        "format_version",
        "precision",
        "provenance",
    ];
    let at: Vec<usize> = keys
        .iter()
        .map(|k| header.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "metadata keys in order: {header}"
    );
    Ticket::from_bytes(&first).unwrap();
}

#[test]
fn f16_and_int8_are_close_and_smaller() {
    let exact = ticket(Precision::F32);
    let f32_len = exact.to_bytes().unwrap().len();
    let mut last = f32_len;
    for (precision, tol) in [(Precision::F16, 1e-3), (Precision::Int8, 1e-2)] {
        let bytes = ticket(precision).to_bytes().unwrap();
        assert!(
            bytes.len() < last,
            "{precision:?}: {} >= {last}",
            bytes.len()
        );
        last = bytes.len();
        let back = Ticket::from_bytes(&bytes).unwrap();
        assert_eq!(back.precision, precision);
        for (name, a) in &exact.params {
            let b = &back.params[name];
            let scale = a.data.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
            for (x, y) in a.data.iter().zip(&b.data) {
                assert!((x - y).abs() <= tol * scale, "{name}: {x} vs {y}");
                if *x == 0.0 {
                    assert_eq!(y.to_bits(), 0, "{name}: a pruned weight came back non-zero");
                }
            }
        }
    }
}

#[test]
fn the_file_is_plain_safetensors_with_masks_and_metadata() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "mirl-ticket");
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["precision"], "f16");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mask = st.tensor("latent.0.attn.qkv.weight.mask").unwrap();
    let values = st.tensor("latent.0.attn.qkv.weight.values").unwrap();
    let popcount: u32 = mask.data().iter().map(|b| b.count_ones()).sum();
    assert_eq!(values.shape(), &[popcount as usize]);
    assert_eq!(values.dtype(), Dtype::F16);
    // Not pruned: stored dense under its own name.
    assert_eq!(
        st.tensor("prompt1.prompt_param").unwrap().shape(),
        &[1, 3, 8, 16, 16]
    );
    assert_eq!(
        st.tensor("latent.0.attn.temperature").unwrap().shape(),
        &[8, 1, 1]
    );
}

#[test]
fn inspect_counts_parameters_and_density() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let info = Ticket::inspect(&bytes).unwrap();
    let cfg = PromptIrConfig::preset("tiny").unwrap();
    assert_eq!(info.summary.parameters, cfg.num_parameters());
    assert_eq!(info.layers.len(), cfg.parameter_shapes().len());
    assert!(
        (info.summary.prunable_density - 0.2).abs() < 0.01,
        "{}",
        info.summary.prunable_density
    );
    assert_eq!(
        info.summary.density,
        info.summary.nonzero as f64 / info.summary.parameters as f64
    );
    assert_eq!(info.summary.file_bytes, bytes.len());
    let json = serde_json::to_value(&info).unwrap();
    for key in [
        "parameters",
        "nonzero",
        "prunable",
        "prunable_nonzero",
        "density",
        "prunable_density",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

/// Rewrites a ticket's tensors and metadata, then seals it with a valid checksum, so a test
/// reaches the check behind the checksum.
fn reseal(
    bytes: &[u8],
    edit: impl FnOnce(&mut HashMap<String, String>, &mut BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>),
) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    let mut tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    edit(&mut meta, &mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(k, (d, s, b))| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    meta.insert(
        "checksum".into(),
        checksum(&meta, views.iter().map(|(k, v)| (k.as_str(), v))),
    );
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn ticket_error(bytes: &[u8]) -> String {
    match Ticket::from_bytes(bytes) {
        Ok(_) => panic!("a bad ticket was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_and_flipped_files_are_refused() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    for len in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        let msg = ticket_error(&bytes[..len]);
        assert!(msg.contains("invalid ticket"), "{msg}");
    }
    // The parser's own error is kept as the cause, for a reader that prints the chain.
    let e = Ticket::from_bytes(&bytes[..100]).unwrap_err();
    let cause = std::error::Error::source(&e).expect("the safetensors error as the cause");
    assert!(mirl::error::report(&e).ends_with(&cause.to_string()));
    // Flip one byte at many places: in the header, in masks, in values.
    for pos in (8..bytes.len()).step_by(bytes.len() / 97) {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x20;
        assert!(Ticket::from_bytes(&bad).is_err(), "flip at {pos} accepted");
    }
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(ticket_error(&bad).contains("checksum"));
}

#[test]
fn an_unknown_version_is_named() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let bad = reseal(&bytes, |meta, _| {
        meta.insert("format_version".into(), "99".into());
    });
    assert!(matches!(
        Ticket::from_bytes(&bad),
        Err(Error::TicketVersion { .. })
    ));
    assert!(ticket_error(&bad).contains("version 99"));
    let other = reseal(&bytes, |meta, _| {
        meta.insert("format".into(), "something-else".into());
    });
    assert!(ticket_error(&other).contains("not \"mirl-ticket\""));
}

#[test]
fn a_mask_that_disagrees_with_its_values_is_refused() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let bad = reseal(&bytes, |_, t| {
        let mask = &mut t.get_mut("latent.0.attn.qkv.weight.mask").unwrap().2;
        mask[3] ^= 0xff;
    });
    let msg = ticket_error(&bad);
    assert!(
        msg.contains("latent.0.attn.qkv.weight") && msg.contains("set bits"),
        "{msg}"
    );
}

#[test]
fn shapes_that_disagree_with_the_config_are_refused() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let bad = reseal(&bytes, |_, t| {
        let (_, shape, _) = t.get_mut("latent.0.attn.temperature").unwrap();
        *shape = vec![4, 2, 1];
    });
    let msg = ticket_error(&bad);
    assert!(
        msg.contains("latent.0.attn.temperature") && msg.contains("shape"),
        "{msg}"
    );
    // The config says a bigger network than the tensors hold.
    let bad = reseal(&bytes, |meta, _| {
        let mut cfg = PromptIrConfig::preset("tiny").unwrap();
        cfg.dim = 16;
        meta.insert("config".into(), cfg.to_json());
    });
    assert!(ticket_error(&bad).contains("shape"));
}

#[test]
fn absurd_configs_are_refused_before_allocating() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let bad = reseal(&bytes, |meta, _| {
        let mut cfg = PromptIrConfig::preset("tiny").unwrap();
        cfg.num_blocks = [1, 1, 1, 1_000_000_000];
        meta.insert("config".into(), cfg.to_json());
    });
    let msg = ticket_error(&bad);
    assert!(msg.contains("num_blocks[3]"), "{msg}");
    let mut cfg = PromptIrConfig::preset("tiny").unwrap();
    cfg.dim = 1 << 40;
    assert!(cfg.validate().is_err());
    cfg.dim = 510;
    cfg.prompts[2].dim = 2048;
    cfg.prompts[2].size = 256;
    assert!(cfg.validate().unwrap_err().to_string().contains("exceed"));
}

#[test]
fn non_finite_values_are_refused() {
    let bytes = ticket(Precision::F32).to_bytes().unwrap();
    let bad = reseal(&bytes, |_, t| {
        let data = &mut t.get_mut("prompt2.prompt_param").unwrap().2;
        data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let msg = ticket_error(&bad);
    assert!(
        msg.contains("prompt2.prompt_param") && msg.contains("non-finite"),
        "{msg}"
    );
    let (cfg, mut params) = pruned_tiny();
    params.get_mut("output.weight").unwrap().data[0] = f32::INFINITY;
    let err = Ticket::new(cfg, params, Precision::F16, Provenance::default()).unwrap_err();
    assert!(err.to_string().contains("output.weight"));
}

#[test]
fn missing_and_unexpected_tensors_are_named() {
    let bytes = ticket(Precision::F16).to_bytes().unwrap();
    let bad = reseal(&bytes, |_, t| {
        t.remove("refinement.0.norm2.body.bias");
    });
    assert!(ticket_error(&bad).contains("refinement.0.norm2.body.bias"));
    let bad = reseal(&bytes, |_, t| {
        t.insert(
            "chnl_reduce1.weight".into(),
            (Dtype::F16, vec![2], vec![0; 4]),
        );
    });
    assert!(ticket_error(&bad).contains("chnl_reduce1.weight"));

    let (cfg, mut params) = pruned_tiny();
    params.remove("output.weight");
    params.insert(
        "extra.weight".into(),
        mirl::params::HostTensor::zeros(vec![1]),
    );
    let msg = Ticket::new(cfg, params, Precision::F16, Provenance::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("output.weight"), "{msg}");
}

#[test]
fn heads_must_divide_channels() {
    let mut cfg = PromptIrConfig::preset("tiny").unwrap();
    cfg.heads = [3, 2, 4, 8];
    let msg = cfg.validate().unwrap_err().to_string();
    assert!(
        msg.contains("encoder_level1") && msg.contains("3 heads"),
        "{msg}"
    );
    let json = r#"{"dim": 16, "num_blocks": [1,1,1,2], "num_refinement_blocks": 1, "heads": [1,2,4,8],
        "ffn_expansion_factor": 2.66, "prompt_len": 5, "prompts": [{"dim": 16, "size": 16}, {"dim": 32, "size": 8}, {"dim": 66, "size": 4}]}"#;
    let msg = PromptIrConfig::from_json(json).unwrap_err().to_string();
    assert!(msg.contains("noise_level3"), "{msg}");
    let mut cfg = PromptIrConfig::preset("tiny").unwrap();
    cfg.ffn_expansion_factor = 0.1;
    let msg = cfg.validate().unwrap_err().to_string();
    assert!(msg.contains("no hidden width for dim 8"), "{msg}");
    assert!(PromptIrConfig::from_json("{\"dim\": 16}")
        .unwrap_err()
        .to_string()
        .contains("not a PromptIR config"));
}

/// What `auto` asks of a ticket follows what it was trained for: JPEG up to quality 92 for a
/// ticket trained only to remove compression, up to 75 for any other or one that does not say.
#[test]
fn the_auto_jpeg_bar_follows_what_a_ticket_was_trained_for() {
    use mirl::bundled::Bundled;
    use mirl::tasks::{AUTO_JPEG_QUALITY, JPEG_TICKET_AUTO_QUALITY};
    let bar = |tasks: Option<&[&str]>| {
        Provenance {
            tasks: tasks.map(|t| t.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
        .auto_jpeg_quality()
    };
    assert_eq!(bar(Some(&["osn@5", "clean@1"])), JPEG_TICKET_AUTO_QUALITY);
    assert_eq!(
        bar(Some(&["jpeg:20@1", "osn:reshare@2"])),
        JPEG_TICKET_AUTO_QUALITY
    );
    for other in [
        None,
        Some(&[][..]),
        Some(&["clean@1"][..]),
        Some(&["osn@3", "noise+osn@1"][..]),
        Some(&["osn@3", "rain@1"][..]),
        Some(&["unknown@1"][..]),
    ] {
        assert_eq!(bar(other), AUTO_JPEG_QUALITY, "{other:?}");
    }
    let bundled = |b: Bundled| {
        Ticket::from_bytes(b.bytes())
            .unwrap()
            .provenance
            .auto_jpeg_quality()
    };
    assert_eq!(bundled(Bundled::Osn), JPEG_TICKET_AUTO_QUALITY);
    assert_eq!(bundled(Bundled::AllInOne), AUTO_JPEG_QUALITY);
}
