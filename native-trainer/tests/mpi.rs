//! `native-trainer train` on two MPI ranks of this machine (`mpirun -n 2`, CPU backend): the
//! ranks end with the same weights, which match one process training on the whole batch;
//! a rank killed mid-round stops the job with the last checkpoint intact; the run resumes on
//! two ranks bit for bit and refuses another number. Needs a build with `--features mpi` and
//! Open MPI's `mpirun` (scripts/setup.sh installs it).
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{progress, training_photos as data};
use mirl::ticket::Ticket;

const BIN: &str = env!("CARGO_BIN_EXE_native-trainer");

/// A short run: the tiny network, two rounds of `steps`, a batch of 4 crops of 16 pixels.
fn args(photos: &Path, out: &Path, steps: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "train",
        "--data",
        photos.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--recipe",
        "tiny",
        "--rounds",
        "1",
        "--steps-per-round",
        steps,
        "--batch",
        "4",
        "--crop",
        "16",
        "--val-crop",
        "32",
        "--val-tasks",
        "noise:25",
        "--precision",
        "f32",
        "--workers",
        "1",
        "--checkpoint-secs",
        "0",
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `mpirun -n N native-trainer ARGS`, as a user on this machine would start it.
fn mpirun(n: usize, args: &[String]) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-n",
        &n.to_string(),
        BIN,
    ])
    .args(args);
    c
}

fn finish(mut c: Command) -> (bool, String) {
    let out = c
        .output()
        .expect("mpirun runs (scripts/setup.sh installs Open MPI)");
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    eprintln!("{log}");
    (out.status.success(), log)
}

fn params(path: &Path) -> Vec<(String, Vec<f32>)> {
    let t = Ticket::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    t.params.into_iter().map(|(n, p)| (n, p.data)).collect()
}

/// Largest difference between two tickets' weights.
fn max_diff(a: &Path, b: &Path) -> f32 {
    params(a)
        .iter()
        .zip(params(b))
        .flat_map(|((_, x), (_, y))| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f32::max)
}

/// The pid of rank `rank` of the job writing `out` (Open MPI tells each its rank).
fn rank_pid(out: &Path, rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        let has = |bytes: &[u8], s: &str| bytes.split(|&b| b == 0).any(|w| w == s.as_bytes());
        (cmd.starts_with(BIN.as_bytes()) && has(&cmd, out.to_str()?) && has(&env, &want))
            .then_some(pid)
    })
}

#[test]
#[ignore = "slow: trains for real under mpirun (scripts/test.sh runs it)"]
fn two_ranks_train_as_one_process_and_survive_a_lost_rank() {
    let dir = tempfile::tempdir().unwrap();
    let photos = data(dir.path());

    // Two ranks, each making and training on half of every batch.
    let two = dir.path().join("two");
    let (ok, log) = finish(mpirun(2, &args(&photos, &two, "30", &[])));
    assert!(ok, "the 2-rank run failed");
    assert!(
        log.contains("2 ranks ended with the same weights and masks"),
        "{log}"
    );

    // One process on the whole batch, its two shards on two threads: the same sums.
    let one = dir.path().join("one");
    let mut single = Command::new(BIN);
    single.args(args(&photos, &one, "30", &[]));
    let (ok, _) = finish(single);
    assert!(ok, "the 1-process run failed");
    for round in ["round-00.mirl", "round-01.mirl"] {
        let diff = max_diff(&two.join(round), &one.join(round));
        eprintln!("{round}: largest weight difference, 2 ranks against 1 process: {diff:e}");
        assert!(
            diff <= 1e-5,
            "{round}: the ranks' weights differ from one process's by {diff}"
        );
    }

    // Kill rank 1 mid-round 1: the job ends soon, the checkpoint intact.
    let killed = dir.path().join("killed");
    let mut job = mpirun(2, &args(&photos, &killed, "30", &[]));
    let mut job = job
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !matches!(progress(&killed), Some((1, s, _)) if s >= 5) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the job is stuck"
        );
        assert!(
            job.try_wait().unwrap().is_none(),
            "the job ended before a rank was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rank_pid(&killed, 1).expect("rank 1 is running");
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let killed_at = Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the other rank still runs a minute after rank 1 was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "the job ended {:?} after rank 1 was killed ({status})",
        killed_at.elapsed()
    );
    assert!(!status.success());
    let (round, step, _) = progress(&killed).expect("the checkpoint reads");
    assert!(round == 1 && step < 30, "checkpoint at {round}/{step}");

    // Resumed on two ranks it ends bit for bit as the uninterrupted run.
    let (ok, _) = finish(mpirun(2, &args(&photos, &killed, "30", &["--resume"])));
    assert!(ok, "the resumed 2-rank run failed");
    for round in ["round-00.mirl", "round-01.mirl"] {
        assert_eq!(
            params(&two.join(round)),
            params(&killed.join(round)),
            "{round}"
        );
    }

    // Another number of ranks is refused by name.
    let mut wrong = Command::new(BIN);
    wrong.args(args(&photos, &killed, "30", &["--resume"]));
    let (ok, log) = finish(wrong);
    assert!(!ok && log.contains("was trained on 2 rank(s)"), "{log}");
}
