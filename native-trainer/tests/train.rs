//! `native-trainer train` end to end on the tiny network: the pruning schedule, nested masks,
//! resuming a killed run bit for bit, Ctrl+C, a full disk and a corrupt checkpoint, the
//! lottery-ticket controls, and bad input.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{err, ok, progress, training_photos as data};
use mirl::config::is_prunable;
use mirl::ticket::Ticket;

/// Common arguments of a fast run: tiny network, 16x16 crops, f32 tickets.
/// `extra` may override the defaults.
fn train_args(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["train", "--data", data.to_str().unwrap()]
        .iter()
        .chain(&["--out", out.to_str().unwrap()])
        .map(|s| s.to_string())
        .collect();
    let defaults = [
        ("--recipe", "tiny"),
        ("--crop", "16"),
        ("--val-crop", "32"),
        ("--val-tasks", "noise:25"),
        ("--precision", "f32"),
        ("--workers", "1"),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_ok(args: &[String]) -> String {
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
    ok(&refs)
}

/// Runs a command that must succeed; returns what it logged on stderr.
fn run_log(args: &[String]) -> String {
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
    let out = common::cli(&refs);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "native-trainer failed: {log}");
    log
}

fn run_err(args: &[String]) -> String {
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
    err(&refs)
}

fn ticket(path: &Path) -> Ticket {
    Ticket::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

/// Per prunable parameter: which weights are non-zero.
fn masks(t: &Ticket) -> Vec<(String, Vec<bool>)> {
    t.params
        .iter()
        .filter(|(n, _)| is_prunable(n))
        .map(|(n, p)| (n.clone(), p.data.iter().map(|&v| v != 0.0).collect()))
        .collect()
}

fn density(m: &[(String, Vec<bool>)]) -> f64 {
    let kept: usize = m
        .iter()
        .map(|(_, k)| k.iter().filter(|&&x| x).count())
        .sum();
    let total: usize = m.iter().map(|(_, k)| k.len()).sum();
    kept as f64 / total as f64
}

#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn rounds_prune_on_schedule_with_nested_masks() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let out = dir.path().join("run");
    run_ok(&train_args(
        &photos,
        &out,
        &["--rounds", "3", "--prune-fraction", "0.3"],
    ));
    let mut previous: Option<Vec<(String, Vec<bool>)>> = None;
    for round in 0..=3 {
        let m = masks(&ticket(&out.join(format!("round-{round:02}.mirl"))));
        let want = 0.7f64.powi(round);
        let got = density(&m);
        assert!(
            (got - want).abs() <= 0.005 * want,
            "round {round}: density {got}, expected {want}"
        );
        if let Some(prev) = &previous {
            for ((name, now), (_, before)) in m.iter().zip(prev) {
                for (i, (&n, &b)) in now.iter().zip(before).enumerate() {
                    assert!(
                        !n || b,
                        "round {round}: {name}[{i}] was pruned and came back"
                    );
                }
            }
        }
        previous = Some(m);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4);
    for r in rounds {
        assert!(r["val_psnr"]["noise:25"].as_f64().unwrap() > 5.0, "{r}");
        assert!(r["final_loss"].as_f64().unwrap() > 0.0);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| 3 | 0.3430 |"), "{md}");
    assert!(out.join("init.mirl").exists());

    // A finished run refuses a second start, and resuming it does nothing.
    let again = run_err(&train_args(&photos, &out, &["--rounds", "3"]));
    assert!(again.contains("--resume"), "{again}");
}

#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn a_killed_run_resumes_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let extra = [
        "--rounds",
        "2",
        "--steps-per-round",
        "30",
        "--rewind-step",
        "3",
        "--checkpoint-secs",
        "0",
    ];
    let whole = dir.path().join("whole");
    run_ok(&train_args(&photos, &whole, &extra));

    // Kill a second run mid-way through round 1, then resume it.
    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_native-trainer"))
        .args(train_args(&photos, &killed, &extra))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some((round, step, _)) = progress(&killed) {
            if round == 1 && step >= 5 {
                break;
            }
            assert!(round < 2, "the run finished before it could be killed");
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the run is stuck"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (round, step, done) = progress(&killed).unwrap();
    assert!(round == 1 && step < 30 && !done, "killed at {round}/{step}");
    assert!(!killed.join("round-01.mirl").exists());

    run_ok(&train_args(
        &photos,
        &killed,
        &[&extra[..], &["--resume"]].concat(),
    ));
    for round in 0..=2 {
        let name = format!("round-{round:02}.mirl");
        let (a, b) = (ticket(&whole.join(&name)), ticket(&killed.join(&name)));
        for (p, t) in &a.params {
            let bits = |t: &mirl::params::HostTensor| {
                t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert!(
                bits(t) == bits(&b.params[p]),
                "{name}: {p} differs after resuming"
            );
        }
        assert_eq!(a.provenance, b.provenance);
    }

    // Resuming with other settings is refused, naming the difference.
    let msg = run_err(&train_args(
        &photos,
        &killed,
        &["--rounds", "3", "--steps-per-round", "30", "--resume"],
    ));
    assert!(msg.contains("rounds: the run has 2, now 3"), "{msg}");
    assert!(msg.contains("rewind_step"), "{msg}");
}

/// Ctrl+C stops a run after a checkpoint (exit 130); resuming onto a full disk (no file may
/// grow past 64 KiB, so writes fail as they would there) ends with a clear error and the
/// previous checkpoint intact; a corrupt checkpoint is refused by name, the tickets untouched.
#[cfg(unix)]
#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn ctrl_c_a_full_disk_and_a_corrupt_checkpoint_lose_nothing() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let out = dir.path().join("run");
    let extra = [
        "--rounds",
        "0",
        "--steps-per-round",
        "1000000",
        "--checkpoint-secs",
        "1000",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_native-trainer"))
        .args(train_args(&photos, &out, &extra))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first checkpoint is written before the first step; then let it train a little.
    let start = Instant::now();
    while progress(&out).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let ended = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&ended.stderr);
    assert_eq!(ended.status.code(), Some(130), "{log}");
    let (round, step, done) = progress(&out).unwrap();
    assert!(
        round == 0 && step > 0 && !done,
        "checkpoint at {round}/{step}"
    );
    assert!(
        log.contains(&format!("interrupted at round 0, step {step}:")) && log.contains("--resume"),
        "{log}"
    );

    let before = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    let resume = train_args(
        &photos,
        &out,
        &[&extra[..], &["--checkpoint-secs", "0", "--resume"]].concat(),
    );
    let mut full_disk = Command::new(env!("CARGO_BIN_EXE_native-trainer"));
    full_disk.args(&resume);
    unsafe {
        full_disk.pre_exec(|| {
            // Past the limit a write fails with EFBIG (instead of the signal's default, which kills).
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            Ok(())
        });
    }
    let ended = full_disk.output().unwrap();
    let log = String::from_utf8_lossy(&ended.stderr);
    assert_eq!(ended.status.code(), Some(2), "{log}");
    assert!(
        log.contains("cannot save the checkpoint; the previous one is kept"),
        "{log}"
    );
    assert!(std::fs::read(out.join("checkpoint.safetensors")).unwrap() == before);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".tmp")),
        "left behind: {names:?}"
    );

    let init = std::fs::read(out.join("init.mirl")).unwrap();
    std::fs::write(
        out.join("checkpoint.safetensors"),
        &before[..before.len() / 2],
    )
    .unwrap();
    let msg = run_err(&resume);
    assert!(
        msg.contains("cannot resume from") && msg.contains("checkpoint.safetensors"),
        "{msg}"
    );
    assert!(std::fs::read(out.join("init.mirl")).unwrap() == init);
}

#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn controls_use_the_tickets_masks_or_its_layer_densities() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let run = dir.path().join("run");
    run_ok(&train_args(
        &photos,
        &run,
        &["--rounds", "2", "--prune-fraction", "0.5"],
    ));
    let source = run.join("round-02.mirl");
    let source_masks = masks(&ticket(&source));
    let source_init = ticket(&run.join("init.mirl"));

    // A finished run resumed with --and-control trains the control it still owes
    // (as after a stop between the last round and the control).
    run_ok(&train_args(
        &photos,
        &run,
        &[
            "--rounds",
            "2",
            "--prune-fraction",
            "0.5",
            "--and-control",
            "random-reinit",
            "--resume",
        ],
    ));
    let owed = ticket(&run.join("control-random-reinit/round-00.mirl"));
    assert_eq!(masks(&owed), source_masks);

    let reinit = dir.path().join("reinit");
    run_ok(&train_args(
        &photos,
        &reinit,
        &[
            "--control",
            "random-reinit",
            "--masks-from",
            source.to_str().unwrap(),
        ],
    ));
    let t = ticket(&reinit.join("round-00.mirl"));
    assert_eq!(
        masks(&t),
        source_masks,
        "random-reinit keeps the ticket's masks"
    );
    assert_eq!(t.provenance.extra["control"], "random-reinit");
    // It names the ticket its masks came from, not a scope of its own.
    let from = t.provenance.extra["masks_from"].as_str().unwrap();
    assert!(from.contains("round-02.mirl (crc32 "), "{from}");
    assert!(!t.provenance.extra.contains_key("scope"));
    let init = ticket(&reinit.join("init.mirl"));
    let w = "patch_embed.proj.weight";
    assert_ne!(
        init.params[w], source_init.params[w],
        "fresh random weights"
    );

    let prune = dir.path().join("prune");
    run_ok(&train_args(
        &photos,
        &prune,
        &[
            "--control",
            "random-prune",
            "--masks-from",
            source.to_str().unwrap(),
        ],
    ));
    let m = masks(&ticket(&prune.join("round-00.mirl")));
    assert_ne!(m, source_masks);
    for ((name, a), (_, b)) in m.iter().zip(&source_masks) {
        let count = |k: &Vec<bool>| k.iter().filter(|&&x| x).count();
        assert_eq!(count(a), count(b), "{name}: same density per layer");
    }
}

/// A run on the clock (`--time-budget`) with its control (`--and-control`): every round,
/// the control included, gets the same seconds; the control keeps the final ticket's masks.
#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn a_time_budget_covers_the_rounds_and_the_control() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let run = dir.path().join("run");
    let args = train_args(
        &photos,
        &run,
        &[
            "--rounds",
            "1",
            "--prune-fraction",
            "0.5",
            "--time-budget",
            "12",
            "--and-control",
            "random-reinit",
        ],
    );
    let started = Instant::now();
    let log = run_log(&args);
    let took = started.elapsed().as_secs_f64();
    assert!(log.contains("time budget"), "{log}");
    let report = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
    };
    let control = run.join("control-random-reinit");
    let (main, ctl) = (report(&run), report(&control));
    let secs = main["settings"]["time_budget"].as_f64().unwrap();
    assert_eq!(secs, 12.0);
    let rows: Vec<&serde_json::Value> = main["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .chain(ctl["rounds"].as_array().unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "two rounds and the control");
    let round_secs = ctl["settings"]["round_secs"].as_f64().unwrap();
    assert!(
        round_secs > 1.0 && round_secs < 4.0,
        "{round_secs} s a round"
    );
    for row in &rows {
        assert!(row["steps"].as_u64().unwrap() >= 1, "{row}");
        let s = row["seconds"].as_f64().unwrap();
        assert!(
            (s - round_secs).abs() < 2.0,
            "a round took {s} s, not {round_secs}"
        );
    }
    assert!(
        took < 12.0 + 25.0,
        "the run took {took:.0} s on a 12 s budget"
    );
    let t = ticket(&control.join("round-00.mirl"));
    assert_eq!(masks(&t), masks(&ticket(&run.join("round-01.mirl"))));
    assert_eq!(t.provenance.extra["control"], "random-reinit");
    assert!(t.provenance.extra["round_secs"].as_f64().is_some());

    // Finished: running it again trains nothing more.
    let again = run_log(&[args, vec!["--resume".to_string()]].concat());
    assert!(again.contains("run is complete: 2 round(s)"), "{again}");
    assert!(
        again.contains("control-random-reinit is complete: 1 round(s)"),
        "{again}"
    );
    assert!(!again.contains("step "), "{again}");
}

#[test]
fn bad_training_input_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let out = dir.path().join("run");

    for (flag, value) in [("--target-density", "0"), ("--target-density", "1")] {
        let msg = run_err(&train_args(&photos, &out, &[flag, value]));
        assert!(msg.contains("between 0 and 1"), "{msg}");
    }
    let msg = run_err(&train_args(&photos, &out, &["--prune-fraction", "1.5"]));
    assert!(msg.contains("--prune-fraction"), "{msg}");
    let msg = run_err(&train_args(&photos, &out, &["--crop", "4096"]));
    assert!(msg.contains("smaller than the 4096x4096 crop"), "{msg}");
    let msg = run_err(&train_args(&photos, &out, &["--crop", "20"]));
    assert!(msg.contains("multiple of 8"), "{msg}");
    let msg = run_err(&train_args(&photos, &out, &["--tasks", "snow"]));
    assert!(msg.contains("snow"), "{msg}");
    let msg = run_err(&train_args(
        &photos,
        &out,
        &["--val-tasks", "noise:25,clean"],
    ));
    assert!(msg.contains("eval --tasks clean"), "{msg}");
    let msg = run_err(&train_args(&photos, &out, &["--time-budget", "0"]));
    assert!(msg.contains("--time-budget 0: must be positive"), "{msg}");
    let msg = run_err(&train_args(
        &photos,
        &out,
        &["--round-secs", "5", "--steps-per-round", "10"],
    ));
    assert!(msg.contains("--steps-per-round"), "{msg}");
    let msg = run_err(&train_args(&photos, &out, &["--resume"]));
    assert!(msg.contains("nothing to resume"), "{msg}");

    let junk = dir.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("a.png"), b"not a png").unwrap();
    let msg = run_err(&train_args(&junk, &out, &[]));
    assert!(
        msg.contains("a.png") && msg.contains("no readable images"),
        "{msg}"
    );
    assert!(!out.join("checkpoint.safetensors").exists());
}

#[test]
fn help_says_how_to_make_a_ticket() {
    let out = Command::new(env!("CARGO_BIN_EXE_native-trainer"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("native-trainer train --data"), "{text}");
    assert!(text.contains("--recipe quick"), "{text}");
    assert!(text.contains("round-02.mirl"), "{text}");
}

/// A three-line sweep run as a cluster array on this machine (scripts/cluster/run-line.sh,
/// with the index as Slurm and Kubernetes give it): each line trains into a folder named by
/// its settings, a line run again skips its finished run, and `runs` gathers the reports
/// into one table.
#[test]
#[ignore = "slow: trains for real (scripts/test.sh runs it)"]
fn a_sweep_runs_as_an_array_and_gathers_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());
    let common = format!(
        "--data {} --recipe tiny --rounds 1 --steps-per-round 4 --crop 16 --val-crop 32 --val-tasks noise:25 --precision f32 --workers 1",
        photos.display()
    );
    let sweep = dir.path().join("sweep.txt");
    std::fs::write(
        &sweep,
        format!("# seeds\n{common} --seed 0 --and-control random-reinit\n\n{common} --seed 1\n{common} --seed 2\n"),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/cluster/run-line.sh"
    );
    let line = |var: &str, index: usize| {
        let out = Command::new("bash")
            .arg(script)
            .args([&sweep, &runs])
            .env(var, index.to_string())
            .env("NATIVE_TRAINER", env!("CARGO_BIN_EXE_native-trainer"))
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "line {index}: {log}");
        log
    };
    line("SLURM_ARRAY_TASK_ID", 0);
    line("SLURM_ARRAY_TASK_ID", 1);
    line("JOB_COMPLETION_INDEX", 2);
    let folders: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 3, "{folders:?}");
    assert!(folders.iter().all(|f| f.join("round-01.mirl").is_file()));
    // A line run again is not trained again.
    let again = line("INDEX", 0);
    assert!(again.contains("is complete"), "{again}");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 3);

    let table = run_ok(&["runs".to_string(), runs.display().to_string()]);
    eprintln!("{table}");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| run-")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        table.lines().next().unwrap().contains("| seed |"),
        "{table}"
    );
    assert!(
        table.contains("random-reinit"),
        "the control is in the table: {table}"
    );
    let json = run_ok(&[
        "runs".to_string(),
        runs.display().to_string(),
        "--json".to_string(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["rounds_done"] == 2));
}
