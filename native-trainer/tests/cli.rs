//! The command line end to end: import the reference fixtures, run them, inspect them, and
//! the errors a user sees for bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{cli, err, fixture, ok};

fn tensor(path: &Path, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    mirl::params::HostTensor::from_safetensors(name, &st.tensor(name).unwrap())
        .unwrap()
        .data
}

fn max_err(out: &Path, io: &Path) -> f32 {
    let got = tensor(out, "output");
    let want = tensor(io, "output");
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn import(dir: &Path, fixture_dir: &str, weights: &str, precision: &str) -> PathBuf {
    let ticket = dir.join(format!("{fixture_dir}-{precision}.mirl"));
    let out = ok(&[
        &"import",
        &fixture(&format!("{fixture_dir}/{weights}")),
        &"--config",
        &fixture(&format!("{fixture_dir}/config.json")),
        &"--precision",
        &precision,
        &"-o",
        &ticket,
    ]);
    println!("{out}");
    ticket
}

fn infer_error(dir: &Path, ticket: &Path, fixture_dir: &str, backend: &str) -> f32 {
    let io = fixture(&format!("{fixture_dir}/io.safetensors"));
    let out = dir.join(format!("{fixture_dir}-{backend}-out.safetensors"));
    ok(&[
        &"infer",
        &"--ticket",
        &ticket,
        &"--input",
        &io,
        &"-o",
        &out,
        &"--backend",
        &backend,
    ]);
    max_err(&out, &io)
}

#[test]
#[ignore = "slow: runs the paper network (scripts/test.sh runs it)"]
fn paper_checkpoint_imports_and_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "mirl-paper-sparse", "weights.ckpt", "f32");
    let e = infer_error(dir.path(), &ticket, "mirl-paper-sparse", "cpu");
    println!("paper f32 ticket, cpu: max abs error {e:e}");
    assert!(e <= 1e-4, "{e}");

    let info: serde_json::Value =
        serde_json::from_str(&ok(&[&"inspect", &ticket, &"--json"])).unwrap();
    assert_eq!(info["parameters"], 35_376_967);
    let density = info["density"].as_f64().unwrap();
    assert!(density > 0.05 && density < 0.2, "{density}");
    for key in [
        "nonzero",
        "prunable",
        "prunable_nonzero",
        "prunable_density",
    ] {
        assert!(info[key].is_number(), "{key}");
    }
    let text = ok(&[&"inspect", &ticket]);
    assert!(text.contains("encoder_level1.0.attn.qkv.weight") && text.contains("sparse"));
}

#[test]
#[ignore = "slow: runs the paper network (scripts/test.sh runs it)"]
fn paper_f16_and_int8_tickets_are_small_and_close() {
    let dir = tempfile::tempdir().unwrap();
    for (precision, max_bytes, tol) in [("f16", 16_000_000, 2e-2), ("int8", 12_000_000, 2e-1)] {
        let ticket = import(dir.path(), "mirl-paper-sparse", "weights.ckpt", precision);
        let size = std::fs::metadata(&ticket).unwrap().len();
        let e = infer_error(dir.path(), &ticket, "mirl-paper-sparse", "cpu");
        println!("paper {precision} ticket: {size} bytes, cpu max abs error {e:e}");
        assert!(size <= max_bytes, "{precision}: {size} bytes");
        assert!(e <= tol, "{precision}: {e}");
    }
}

#[test]
fn tiny_safetensors_imports_and_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "promptir-tiny", "weights.safetensors", "f32");
    let e = infer_error(dir.path(), &ticket, "promptir-tiny", "cpu");
    println!("promptir-tiny, cpu: max abs error {e:e}");
    assert!(e <= 1e-4, "{e}");
}

#[test]
fn export_gives_back_the_reference_weights_and_imports_again() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "promptir-tiny", "weights.safetensors", "f32");
    let (weights, config) = (dir.path().join("w.safetensors"), dir.path().join("c.json"));
    let out = ok(&[&"export", &ticket, &"-o", &weights, &"--config", &config]);
    println!("{out}");
    let reference = fixture("promptir-tiny/weights.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let exported = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut compared = 0;
    for name in exported.names() {
        assert_eq!(tensor(&weights, name), tensor(&reference, name), "{name}");
        compared += 1;
    }
    assert!(compared > 50, "only {compared} tensors");
    // The exported pair is what `import` reads.
    let again = dir.path().join("again.mirl");
    ok(&[
        &"import",
        &weights,
        &"--config",
        &config,
        &"--precision",
        &"f32",
        &"-o",
        &again,
    ]);
    let e = infer_error(dir.path(), &again, "promptir-tiny", "cpu");
    assert!(e <= 1e-4, "{e}");
    // The bundled ticket exports with no argument.
    ok(&[&"export", &"-o", &dir.path().join("default.safetensors")]);
}

#[test]
fn prune_cuts_the_smallest_weights_and_lamp_empties_no_layer() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "promptir-tiny", "weights.safetensors", "f32");
    let original = dir.path().join("original.safetensors");
    ok(&[&"export", &ticket, &"-o", &original]);
    for scope in ["global", "layer-wise", "lamp"] {
        let pruned = dir.path().join(format!("{scope}.mirl"));
        let text = ok(&[
            &"prune",
            &ticket,
            &"-o",
            &pruned,
            &"--density",
            &"0.05",
            &"--scope",
            &scope,
        ]);
        assert!(text.contains(&format!("scope \"{scope}\"")), "{text}");
        let info: serde_json::Value =
            serde_json::from_str(&ok(&[&"inspect", &pruned, &"--json"])).unwrap();
        let density = info["prunable_density"].as_f64().unwrap();
        assert!((density - 0.05).abs() < 1e-3, "{scope}: density {density}");
        let layers = info["layers"].as_array().unwrap();
        let prunable = layers.iter().filter(|l| l["prunable"] == true);
        let emptied: Vec<_> = prunable.filter(|l| l["nonzero"] == 0).collect();
        if scope == "lamp" {
            assert!(emptied.is_empty(), "lamp emptied {emptied:?}");
        }
        // The survivors keep their values.
        let exported = dir.path().join(format!("{scope}.safetensors"));
        ok(&[&"export", &pruned, &"-o", &exported]);
        for layer in layers {
            let name = layer["name"].as_str().unwrap();
            let (before, after) = (tensor(&original, name), tensor(&exported, name));
            for (b, a) in before.iter().zip(&after) {
                assert!(*a == 0.0 || a == b, "{scope}: {name} changed {b} to {a}");
            }
        }
    }
    let msg = err(&[
        &"prune",
        &ticket,
        &"-o",
        &dir.path().join("x.mirl"),
        &"--fraction",
        &"1.5",
    ]);
    assert!(msg.contains("--fraction 1.5"), "{msg}");
    let msg = err(&[&"prune", &ticket, &"-o", &ticket, &"--fraction", &"0.5"]);
    assert!(msg.contains("overwrite"), "{msg}");
}

#[cfg(feature = "wgpu")]
#[test]
#[ignore = "slow: runs the paper network (scripts/test.sh runs it)"]
fn both_fixtures_match_the_reference_on_wgpu() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture_dir, weights) in [
        ("promptir-tiny", "weights.safetensors"),
        ("mirl-paper-sparse", "weights.ckpt"),
    ] {
        let ticket = import(dir.path(), fixture_dir, weights, "f32");
        let e = infer_error(dir.path(), &ticket, fixture_dir, "wgpu");
        println!("{fixture_dir}, wgpu: max abs error {e:e}");
        assert!(e <= 1e-4, "{fixture_dir}: {e}");
    }
}

#[test]
fn bad_weights_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // The tiny weights against the paper config: every shape disagrees.
    let msg = err(&[
        &"import",
        &fixture("promptir-tiny/weights.safetensors"),
        &"--config",
        &fixture("mirl-paper-sparse/config.json"),
        &"-o",
        &dir.path().join("x.mirl"),
    ]);
    assert!(
        msg.contains("missing") && msg.contains("encoder_level1.1"),
        "{msg}"
    );
    assert!(!dir.path().join("x.mirl").exists());

    // A safetensors file with one tensor missing and one unexpected.
    let bytes = std::fs::read(fixture("promptir-tiny/weights.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "output.weight")
        .collect();
    tensors.push((
        "mystery.weight".into(),
        st.tensor("prompt1.linear_layer.bias").unwrap(),
    ));
    let edited = dir.path().join("edited.safetensors");
    std::fs::write(&edited, safetensors::serialize(tensors, None).unwrap()).unwrap();
    let msg = err(&[
        &"import",
        &edited,
        &"--config",
        &fixture("promptir-tiny/config.json"),
        &"-o",
        &dir.path().join("y.mirl"),
    ]);
    assert!(msg.contains("output.weight"), "{msg}");

    // Not weights at all.
    let junk = dir.path().join("junk.ckpt");
    std::fs::write(&junk, b"hello, not a checkpoint").unwrap();
    let msg = err(&[
        &"import",
        &junk,
        &"--config",
        &fixture("promptir-tiny/config.json"),
        &"-o",
        &dir.path().join("z.mirl"),
    ]);
    assert!(msg.contains("junk.ckpt"), "{msg}");
}

#[test]
fn bad_tickets_and_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "promptir-tiny", "weights.safetensors", "f16");
    let bytes = std::fs::read(&ticket).unwrap();
    let truncated = dir.path().join("truncated.mirl");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let msg = err(&[&"inspect", &truncated]);
    assert!(
        msg.contains("truncated.mirl") && msg.contains("invalid ticket"),
        "{msg}"
    );

    // An input whose size is not a multiple of 8.
    let data = vec![0u8; 3 * 10 * 16 * 4];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1, 3, 10, 16], &data)
            .unwrap();
    let input = dir.path().join("odd.safetensors");
    std::fs::write(
        &input,
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
    let msg = err(&[
        &"infer",
        &"--ticket",
        &ticket,
        &"--input",
        &input,
        &"-o",
        &dir.path().join("o.safetensors"),
    ]);
    assert!(msg.contains("multiples of 8"), "{msg}");

    // The output may not overwrite the input.
    let io = dir.path().join("io.safetensors");
    std::fs::copy(fixture("promptir-tiny/io.safetensors"), &io).unwrap();
    let msg = err(&[&"infer", &"--ticket", &ticket, &"--input", &io, &"-o", &io]);
    assert!(msg.contains("refusing to overwrite"), "{msg}");
}

#[test]
fn no_arguments_prints_help() {
    let out = cli(&[]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("import") && text.contains("inspect") && text.contains("ticket"),
        "{text}"
    );
}

/// `inspect T.mirl | head -1`: the tool ends quietly when its reader goes away.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let ticket = import(dir.path(), "promptir-tiny", "weights.safetensors", "f16");
    let mut child = Command::new(env!("CARGO_BIN_EXE_native-trainer"))
        .args([std::ffi::OsStr::new("inspect"), ticket.as_os_str()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end before the tool has printed anything: every write it makes fails.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `scripts/gpu-train.sh` (a GPU lent for minutes) refuses what cannot work before it starts:
/// a missing or empty photos folder, a budget that is not whole seconds or too small for
/// kernel compilation, a missing binary, and a binary built without the cuda backend.
#[test]
fn the_gpu_script_refuses_bad_input() {
    use std::process::Command;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gpu-train.sh");
    let bin = env!("CARGO_BIN_EXE_native-trainer");
    let dir = tempfile::tempdir().unwrap();
    let (empty, photos) = (dir.path().join("empty"), dir.path().join("photos"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("a.png"), b"").unwrap();
    let out = dir.path().join("run");
    let refusal = |data: &Path, budget: &str, bin: &str| {
        let run = Command::new("bash")
            .arg(&script)
            .args([
                "--data".as_ref(),
                data.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ])
            .args(["--budget", budget, "--bin", bin])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{run:?}");
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let cases = [
        (
            dir.path().join("missing"),
            "600",
            bin,
            "no photos folder at",
        ),
        (
            empty.clone(),
            "600",
            bin,
            "holds no PNG, JPEG or BMP photos",
        ),
        (photos.clone(), "ten", bin, "--budget must be whole seconds"),
        (photos.clone(), "60", bin, "a budget of 60 s is too small"),
        (
            photos.clone(),
            "600",
            "/nonexistent/native-trainer",
            "no native-trainer at",
        ),
    ];
    for (data, budget, bin, expected) in cases {
        let msg = refusal(&data, budget, bin);
        assert!(msg.contains(expected), "expected '{expected}' in: {msg}");
    }
    // This test's binary has the cuda backend only when built with `--features cuda`.
    let version = Command::new(bin).arg("--version").output().unwrap();
    if !String::from_utf8_lossy(&version.stdout).contains("cuda") {
        let msg = refusal(&photos, "600", bin);
        assert!(msg.contains("was built without the cuda backend"), "{msg}");
    }
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}
