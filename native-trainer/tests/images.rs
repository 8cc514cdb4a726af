//! Photos through the command line: degrade, metrics, restore and eval, and their errors.

mod common;

use std::path::{Path, PathBuf};

use common::{err, ok, shared};

fn photo(name: &str) -> PathBuf {
    shared().join("data/test/cbsd68").join(name)
}

/// The tiny reference network as a ticket (random weights: enough to exercise the pipeline).
fn tiny_ticket(dir: &Path) -> PathBuf {
    let fixture = shared().join("fixtures/promptir-tiny");
    let ticket = dir.join("tiny.mirl");
    ok(&[
        &"import",
        &fixture.join("weights.safetensors"),
        &"--config",
        &fixture.join("config.json"),
        &"-o",
        &ticket,
    ]);
    ticket
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn metrics(a: &Path, b: &Path) -> (f64, f64) {
    let out = ok(&[&"metrics", &a, &b, &"--json"]);
    assert_eq!(
        out.trim().lines().count(),
        1,
        "exactly one JSON object: {out}"
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    (v["psnr"].as_f64().unwrap(), v["ssim"].as_f64().unwrap())
}

#[test]
fn degrade_then_metrics_on_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    let noisy = dir.path().join("noisy.png");
    ok(&[
        &"degrade",
        &photo("101085.png"),
        &"-o",
        &noisy,
        &"--kind",
        &"noise:25",
        &"--seed",
        &"1",
    ]);
    let (p, s) = metrics(&photo("101085.png"), &noisy);
    println!("noise:25 on 101085: PSNR {p:.3}, SSIM {s:.4}");
    assert!((p - 20.5).abs() < 0.6, "{p}");
    let jpeg = dir.path().join("jpeg.png");
    ok(&[
        &"degrade",
        &photo("101085.png"),
        &"-o",
        &jpeg,
        &"--kind",
        &"jpeg:20",
    ]);
    let (pj, _) = metrics(&photo("101085.png"), &jpeg);
    assert!(pj > 25.0 && pj < 40.0, "{pj}");
    let text = ok(&[&"metrics", &photo("101085.png"), &jpeg]);
    assert!(text.contains("PSNR") && text.contains("SSIM"));
}

/// A social network's delivery as a file: the JPEG it would serve (its quality, subsampling
/// and scan type in the header), and the clean photo at the delivered size beside it. A
/// restore reads the header: it removes JPEG at quality 70 to 92, and leaves quality 95
/// alone.
#[test]
fn a_delivered_jpeg_is_restored_with_what_its_file_says() {
    let dir = tempfile::tempdir().unwrap();
    let (sent, reference, restored) = (
        dir.path().join("sent.jpg"),
        dir.path().join("reference.png"),
        dir.path().join("restored.png"),
    );
    let clean = photo("101085.png");
    let degrade = |kind: &str| {
        ok(&[
            &"degrade",
            &clean,
            &"-o",
            &sent,
            &"--kind",
            &kind,
            &"--reference",
            &reference,
        ]);
    };
    let size = |p: &Path| image::image_dimensions(p).unwrap();
    degrade("osn:messenger");
    assert_eq!(size(&sent), (257, 385), "scaled by 0.8");
    assert_eq!(size(&reference), size(&sent));
    // Photos as networks deliver them go to the OSN ticket, which must visibly gain.
    for (kind, quality, gain) in [("osn:messenger", 70, 0.3), ("osn:reshare", 75, 0.3)] {
        degrade(kind);
        let out = ok(&[&"restore", &sent, &"-o", &restored]);
        println!("{out}");
        let file = format!("the file: quality {quality}, 4:2:0");
        assert!(out.contains("removed jpeg") && out.contains(&file), "{out}");
        assert!(
            out.contains("with the osn ticket: the photo is a JPEG file"),
            "{out}"
        );
        let (before, _) = metrics(&reference, &sent);
        let (after, _) = metrics(&reference, &restored);
        println!("{kind} on 101085: {before:.2} -> {after:.2} dB");
        assert!(
            after >= before + gain,
            "{kind}: {before:.2} -> {after:.2} dB"
        );
    }

    // A ticket file trained only for JPEG (here the OSN ticket's own file) is trusted as far
    // as the bundled OSN ticket is: it removes JPEG at quality 85, above the all-in-one's 75.
    degrade("osn:upload");
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tickets/osn.mirl");
    let out = ok(&[&"restore", &sent, &"-o", &restored, &"--ticket", &own]);
    assert!(
        out.contains("removed jpeg") && out.contains("quality 85"),
        "{out}"
    );

    // A network that keeps full chroma at quality 92: the OSN ticket's bar, restored, and no
    // photo below its input by more than 0.05 dB (this one the pruned ticket leaves about as
    // it came: CBSD68 gains +0.85 dB on average at upload444, 101085 +0.00).
    degrade("osn:upload444");
    let out = ok(&[&"restore", &sent, &"-o", &restored]);
    assert!(
        out.contains("removed jpeg") && out.contains("quality 92, 4:4:4, progressive"),
        "{out}"
    );
    let (before, _) = metrics(&reference, &sent);
    let (after, _) = metrics(&reference, &restored);
    println!("osn:upload444 on 101085: {before:.2} -> {after:.2} dB");
    assert!(
        after >= before - 0.05,
        "osn:upload444: {before:.2} -> {after:.2} dB"
    );

    // Above the bar the photo is left as it came.
    degrade("osn:max2048:95fp");
    let out = ok(&[&"restore", &sent, &"-o", &restored]);
    assert!(
        out.contains("nothing removed") && out.contains("quality 95, 4:4:4, progressive"),
        "{out}"
    );
}

#[test]
#[ignore = "slow: restores whole photos (scripts/test.sh runs it)"]
fn the_default_ticket_denoises_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    let (noisy, restored) = (
        dir.path().join("noisy.png"),
        dir.path().join("restored.png"),
    );
    let clean = photo("101085.png");
    ok(&[
        &"degrade",
        &clean,
        &"-o",
        &noisy,
        &"--kind",
        &"noise:25",
        &"--seed",
        &"1",
    ]);
    ok(&[&"restore", &noisy, &"-o", &restored]);
    let (before, _) = metrics(&clean, &noisy);
    let (after, _) = metrics(&clean, &restored);
    println!("default ticket, noise:25 on 101085: {before:.2} -> {after:.2} dB");
    assert!(after > before + 1.5, "{before:.2} -> {after:.2} dB");
}

/// A photo that needs nothing comes back as it was (`--tasks auto`, the default), and says so;
/// asked to, the network still runs, and nearly leaves it alone (the earlier default ticket,
/// trained without clean crops, altered this one to 33.4 dB: QUALITY.md, bright photos).
#[test]
fn the_default_ticket_leaves_a_clean_photo_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, restored) = (photo("101085.png"), dir.path().join("restored.png"));
    let out = ok(&[&"restore", &clean, &"-o", &restored]);
    println!("{out}");
    assert!(out.contains("nothing removed"), "{out}");
    let pixels = |p: &Path| image::open(p).unwrap().to_rgb8();
    assert_eq!(pixels(&clean), pixels(&restored));
    let out = ok(&[
        &"restore",
        &clean,
        &"-o",
        &restored,
        &"--tasks",
        &"noise,jpeg",
    ]);
    assert!(out.contains("removed noise,jpeg (as asked"), "{out}");
    let (psnr, _) = metrics(&clean, &restored);
    println!("default ticket on clean 101085, asked to remove noise and JPEG: {psnr:.2} dB");
    assert!(psnr > 36.0, "the clean photo came back at {psnr:.2} dB");
    let msg = err(&[&"restore", &clean, &"-o", &restored, &"--tasks", &"blur"]);
    assert!(msg.contains("unknown task \"blur\""), "{msg}");
}

/// The browser tests compare their tiled restore with this file: it must stay what the native
/// pipeline makes.
#[test]
fn the_browser_tests_expected_image_is_the_native_result() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/web");
    let out = dir.path().join("out.png");
    ok(&[
        &"restore",
        &data.join("tiled-input.png"),
        &"-o",
        &out,
        &"--tile",
        &"32",
        &"--tasks",
        &"all",
    ]);
    let got = image::open(&out).unwrap().to_rgb8();
    let want = image::open(data.join("tiled-expected.png"))
        .unwrap()
        .to_rgb8();
    let worst = got
        .as_raw()
        .iter()
        .zip(want.as_raw())
        .map(|(a, b)| (*a as i32 - *b as i32).abs())
        .max()
        .unwrap();
    assert!(
        worst <= 1,
        "tests/data/web/tiled-expected.png is stale (off by {worst}); see its README"
    );
}

#[test]
fn restore_keeps_size_alpha_and_grey() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = tiny_ticket(dir.path());
    let src = image::open(photo("101085.png")).unwrap();
    let crop = src.crop_imm(0, 0, 101, 75);
    let mut rgba = crop.to_rgba8();
    for (i, p) in rgba.pixels_mut().enumerate() {
        p.0[3] = (i % 251) as u8;
    }
    let rgba_in = dir.path().join("in-rgba.png");
    rgba.save(&rgba_in).unwrap();
    let rgba_out = dir.path().join("out-rgba.png");
    ok(&[
        &"restore",
        &rgba_in,
        &"-o",
        &rgba_out,
        &"--ticket",
        &ticket,
        &"--tile",
        &"48",
    ]);
    let back = image::open(&rgba_out).unwrap().to_rgba8();
    assert_eq!(back.dimensions(), (101, 75));
    assert!(
        back.pixels()
            .zip(rgba.pixels())
            .all(|(a, b)| a.0[3] == b.0[3]),
        "alpha passes through"
    );

    let grey_in = dir.path().join("in-grey.png");
    crop.to_luma8().save(&grey_in).unwrap();
    let grey_out = dir.path().join("out-grey.png");
    let pair = dir.path().join("pair.png");
    ok(&[
        &"restore",
        &grey_in,
        &"-o",
        &grey_out,
        &"--ticket",
        &ticket,
        &"--before-after",
        &pair,
    ]);
    let back = image::open(&grey_out).unwrap();
    assert_eq!(back.color(), image::ColorType::L8);
    assert_eq!((back.width(), back.height()), (101, 75));

    // --before-after: the input on the left, the result on the right, 4 white pixels apart.
    let pair = image::open(&pair).unwrap().to_rgb8();
    assert_eq!(pair.dimensions(), (2 * 101 + 4, 75));
    let (input, output) = (crop.to_luma8(), back.to_luma8());
    for (x, y) in [(0, 0), (50, 40), (100, 74)] {
        let grey = |v: u8| image::Rgb([v, v, v]);
        assert_eq!(*pair.get_pixel(x, y), grey(input.get_pixel(x, y).0[0]));
        assert_eq!(
            *pair.get_pixel(x + 105, y),
            grey(output.get_pixel(x, y).0[0])
        );
        assert_eq!(*pair.get_pixel(102, y), grey(255));
    }

    // --zoom: the same region of both, magnified; a region outside the photo is refused
    // before anything is restored or written.
    let (out, zoomed) = (
        dir.path().join("zoom.png"),
        dir.path().join("zoom-pair.png"),
    );
    let zoom = |region: &'static &'static str| -> [&dyn AsRef<std::ffi::OsStr>; 10] {
        [
            &"restore",
            &grey_in,
            &"-o",
            &out,
            &"--ticket",
            &ticket,
            &"--before-after",
            &zoomed,
            &"--zoom",
            region,
        ]
    };
    let msg = err(&zoom(&"90,0,20,10"));
    assert!(msg.contains("outside the 101x75 photo"), "{msg}");
    assert!(!out.exists() && !zoomed.exists(), "nothing is written");
    ok(&zoom(&"10,20,30,16x2"));
    let pair = image::open(&zoomed).unwrap().to_rgb8();
    assert_eq!(pair.dimensions(), (2 * 60 + 4, 32));
    let grey = |v: u8| image::Rgb([v, v, v]);
    assert_eq!(*pair.get_pixel(0, 0), grey(input.get_pixel(10, 20).0[0]));
    assert_eq!(*pair.get_pixel(59, 31), grey(input.get_pixel(39, 35).0[0]));
    assert_eq!(*pair.get_pixel(64, 0), grey(output.get_pixel(10, 20).0[0]));
}

#[test]
#[ignore = "slow: restores whole photos (scripts/test.sh runs it)"]
fn eval_prints_a_table_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let ticket = tiny_ticket(dir.path());
    let data = shared().join("data/test/cbsd68");
    let eval = |tasks: &str, remove: &str, json: &Path| {
        ok(&[
            &"eval",
            &"--ticket",
            &ticket,
            &"--data",
            &data,
            &"--tasks",
            &tasks,
            &"--remove",
            &remove,
            &"--limit",
            &"2",
            &"--json",
            &json,
        ])
    };
    let json = dir.path().join("eval.json");
    let out = eval("noise:25,jpeg:20,clean", "all", &json);
    println!("{out}");
    assert!(out.contains("noise:25") && out.contains("jpeg:20") && out.contains("input PSNR"));
    let v = read_json(&json);
    assert_eq!(v["images"], 2);
    let noise = &v["tasks"][0];
    assert_eq!(noise["task"], "noise:25");
    let input = noise["input_psnr"].as_f64().unwrap();
    assert!((input - 20.5).abs() < 0.6, "{input}");
    // `clean` restores the photos as they are: the input is perfect, the output is scored.
    let clean = &v["tasks"][2];
    assert_eq!(clean["task"], "clean");
    assert!(clean["input_psnr"].is_null(), "{clean}");
    assert_eq!(clean["input_ssim"], 1.0);
    assert!(clean["output_psnr"].as_f64().unwrap() > 10.0, "{clean}");
    // Photo by photo: each one's scores, and how many came out worse (a random network makes
    // every photo worse).
    for task in v["tasks"].as_array().unwrap() {
        assert_eq!(task["restored"], 2, "{task}");
        assert_eq!(task["photos"].as_array().unwrap().len(), 2, "{task}");
        assert_eq!(task["worse"], 2, "{task}");
        assert_eq!(task["photos"][0]["photo"], "101085.png");
        assert_eq!(task["photos"][0]["removed"], "noise,jpeg,rain,haze");
    }
    assert!(out.contains("worst photo"), "{out}");
    // The same command again gives the same numbers: degradations are seeded per photo and task.
    let json2 = dir.path().join("eval2.json");
    eval("noise:25,jpeg:20,clean", "all", &json2);
    let v2 = read_json(&json2);
    assert_eq!(v["tasks"], v2["tasks"]);

    // In `auto` (the default), the clean photos need nothing and come back as they were.
    let out = eval("clean", "auto", &json);
    println!("{out}");
    let v = read_json(&json);
    let clean = &v["tasks"][0];
    assert_eq!(
        (&clean["restored"], &clean["worse"]),
        (&0.into(), &0.into()),
        "{clean}"
    );
    assert!(
        clean["output_psnr"].is_null(),
        "identical photos score infinite: {clean}"
    );
    assert_eq!(clean["photos"][0]["removed"], "none");
}

/// WebP (what social networks serve) and TIFF read as PNG does: the lossless files give the
/// PNG's pixels, and every file restores to a PNG of its size.
#[test]
#[ignore = "slow: restores whole photos (scripts/test.sh runs it)"]
fn webp_and_tiff_photos_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let png = data.join("web/tiled-input.png");
    for name in [
        "photo.webp",
        "photo-lossless.webp",
        "photo-alpha.webp",
        "photo.tiff",
        "photo-lzw.tiff",
    ] {
        let input = data.join("formats").join(name);
        if !name.contains(".webp") || name.contains("lossless") {
            let (a, b) = (image::open(&png).unwrap(), image::open(&input).unwrap());
            assert_eq!(
                a.to_rgb8(),
                b.to_rgb8(),
                "{name}: pixels differ from the PNG"
            );
        }
        let out = dir.path().join(format!("{name}.png"));
        ok(&[&"restore", &input, &"-o", &out]);
        let restored = image::open(&out).unwrap();
        assert_eq!((restored.width(), restored.height()), (76, 52), "{name}");
        assert_eq!(
            restored.color().has_alpha(),
            name.contains("alpha"),
            "{name}"
        );
    }
}

#[test]
fn bad_images_and_names_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not a png").unwrap();
    let msg = err(&[
        &"degrade",
        &junk,
        &"-o",
        &dir.path().join("o.png"),
        &"--kind",
        &"rain",
    ]);
    assert!(msg.contains("junk.png"), "{msg}");
    let msg = err(&[
        &"degrade",
        &photo("101085.png"),
        &"-o",
        &dir.path().join("o.png"),
        &"--kind",
        &"blur:3",
    ]);
    assert!(msg.contains("unknown degradation"), "{msg}");
    let msg = err(&[
        &"degrade",
        &photo("101085.png"),
        &"-o",
        &dir.path().join("o.png"),
        &"--kind",
        &"jpeg:200",
    ]);
    assert!(msg.contains("quality"), "{msg}");
    let small = dir.path().join("small.png");
    image::RgbImage::new(20, 20).save(&small).unwrap();
    let msg = err(&[&"metrics", &photo("101085.png"), &small]);
    assert!(msg.contains("differ in size"), "{msg}");
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let msg = err(&[
        &"eval",
        &"--ticket",
        &dir.path().join("none.mirl"),
        &"--data",
        &empty_dir,
    ]);
    assert!(
        msg.contains("none.mirl") || msg.contains("no images"),
        "{msg}"
    );
    // Never over the input.
    let copy = dir.path().join("copy.png");
    std::fs::copy(photo("101085.png"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let msg = err(&[&"degrade", &copy, &"-o", &copy, &"--kind", &"rain"]);
    assert!(msg.contains("refusing to overwrite"), "{msg}");
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}

/// Never worse: in `auto` (the default, which picks the OSN ticket for a JPEG), every clean
/// photo of both test sets comes back at 40 dB or more against itself, and every JPEG copy at
/// quality 90, 92 and 95 within 0.05 dB of its input.
#[test]
#[ignore = "slow: restores whole photos (scripts/test.sh runs it)"]
fn photos_that_need_nothing_come_back_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    for set in ["cbsd68", "live1"] {
        let json = dir.path().join(format!("{set}.json"));
        let out = ok(&[
            &"eval",
            &"--data",
            &shared().join("data/test").join(set),
            &"--tasks",
            &"clean,jpeg:90,jpeg:92,jpeg:95",
            &"--json",
            &json,
        ]);
        println!("{out}");
        let v = read_json(&json);
        let mut failures = Vec::new();
        for task in v["tasks"].as_array().unwrap() {
            for p in task["photos"].as_array().unwrap() {
                let output = p["output_psnr"].as_f64().unwrap_or(f64::INFINITY);
                let ok = match p["input_psnr"].as_f64() {
                    None => output >= 40.0,
                    Some(input) => output >= input - 0.05,
                };
                if !ok {
                    failures.push(format!("{set} {} {}: {p}", task["task"], p["photo"]));
                }
            }
        }
        assert!(failures.is_empty(), "made worse:\n{}", failures.join("\n"));
        assert!(v["images"].as_u64().unwrap() >= 29);
    }
}
