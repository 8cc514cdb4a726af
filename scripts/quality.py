#!/usr/bin/env python3
"""Scores tickets side by side for QUALITY.md: runs `native-trainer eval` on CBSD68 (noise
sigma 15/25/50, synthetic rain and haze) and LIVE1 (JPEG q 10/20/30/40, and clean photos
passed through) for each ticket and prints Markdown tables: each ticket against the quality
targets, PSNR and SSIM of the degraded input and of each ticket's output, then parameters,
non-zero parameters and bytes.

    python3 scripts/quality.py dense=runs/ship/round-00.mirl ticket=runs/ship/round-04.mirl \
        control=runs/control/round-00.mirl [--limit N] [--json-dir DIR] [--remove MODE]

A ticket named `dense` is the reference for "within 0.3 dB of the dense network".

--family osn scores social-network photos instead (the OSN ticket's targets): LIVE1 at JPEG
q 10/20/30/40, the realistic profiles (osn:upload, ...; README, Degradations), JPEG q 90, 92 and
95 and clean photos, which no photo may come out of more than 0.05 dB below its input.

--remove is what the restores remove, as `native-trainer restore --tasks`: `all` (the default:
the networks as they are, which is what comparing tickets needs), `auto` (what a user gets
by default), or each task's own degradation (`asked`: noise for the noise rows, and so on).
Photo by photo, a table gives how many photos each ticket made worse than their input (clean:
below 40 dB) and the worst one.

Each eval's JSON is kept in --json-dir (default $CARGO_TARGET_DIR/quality), and an eval whose
JSON is already there is not run again, so an interrupted run picks up where it stopped.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MIRL_SHARED", REPO.parent / "shared"))
SUITES = [
    ("cbsd68", "noise:15,noise:25,noise:50,rain,haze"),
    ("live1", "jpeg:10,jpeg:20,jpeg:30,jpeg:40,clean"),
]

# The quality targets (issue: a default ticket that visibly restores): task, what is compared
# ("psnr": the output's PSNR; "gain": output over the degraded input), the bar in dB.
TARGETS = [
    ("noise:15", "psnr", 32.0),
    ("noise:25", "psnr", 29.0),
    ("noise:50", "psnr", 25.5),
    ("jpeg:10", "gain", 1.2),
    ("jpeg:20", "gain", 1.0),
    ("jpeg:30", "gain", 0.8),
    ("jpeg:40", "gain", 0.7),
    ("rain", "gain", 1.0),
    ("haze", "gain", 1.0),
    ("clean", "psnr", 38.0),
]
# A ticket's mean PSNR over the restoration tasks may trail the dense network's by this much.
WITHIN_DENSE = 0.3

# The OSN ticket's suite and targets (issue: social-network photos, visibly cleaned).
OSN_PROFILES = ["osn:upload", "osn:upload444", "osn:messenger", "osn:reshare", "osn:recrop"]
OSN_SUITES = [
    ("live1", ",".join(["jpeg:10", "jpeg:20", "jpeg:30", "jpeg:40", *OSN_PROFILES, "jpeg:90", "jpeg:92", "jpeg:95", "clean"])),
]
OSN_TARGETS = [
    ("jpeg:10", "gain", 0.9),
    ("jpeg:20", "gain", 0.9),
    ("jpeg:30", "gain", 0.8),
    ("jpeg:40", "gain", 0.7),
    *[(p, "gain", 0.3) for p in OSN_PROFILES],
]
FAMILIES = {"all-in-one": (SUITES, TARGETS), "osn": (OSN_SUITES, OSN_TARGETS)}


def native_trainer(*args):
    cmd = ["cargo", "run", "--locked", "--quiet", "--release", "-p", "native-trainer", "--", *args]
    return subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout


def asked(task):
    """What a caller who knows the degradation asks to remove: `noise:25` -> `noise`."""
    return {"clean": "none"}.get(task, task.split(":")[0])


def evaluate(name, ticket, suite, tasks, limit, json_dir, remove, family="all-in-one"):
    """Each task's row of `native-trainer eval`; with remove `asked`, one eval per task."""
    if remove == "asked":
        rows = {}
        for task in tasks.split(","):
            rows.update(evaluate(f"{name}-{task.replace(':', '')}", ticket, suite, task, limit, json_dir, asked(task), family))
        return rows
    # `all` keeps the file names of the evaluations kept before --remove existed.
    base = f"{name}-{suite}" if family == "all-in-one" else f"{name}-{suite}-{family}"
    out = json_dir / (f"{base}.json" if remove == "all" else f"{base}-{remove}.json")
    if not out.exists():
        data = SHARED / "data/test" / suite
        if not data.is_dir():
            sys.exit(f"quality: {data} is missing (set MIRL_SHARED)")
        args = ["eval", "--ticket", str(ticket), "--data", str(data), "--tasks", tasks, "--remove", remove, "--json", str(out)]
        if limit:
            args += ["--limit", str(limit)]
        start = time.time()
        native_trainer(*args)
        print(f"quality: {name} on {suite} in {time.time() - start:.0f} s", file=sys.stderr)
    rows = {t["task"]: t for t in json.loads(out.read_text())["tasks"]}
    for row in rows.values():
        # JSON has no infinity: a photo (or every photo) returned as it was reads null.
        if row["output_psnr"] is None:
            row["output_psnr"] = float("inf")
    return rows


def gain(photo):
    """What the restore did to one photo: dB over its input; clean, dB above 40."""
    out = photo["output_psnr"] if photo["output_psnr"] is not None else float("inf")
    return out - (photo["input_psnr"] if photo["input_psnr"] is not None else 40.0)


def print_photos(scores, names):
    """Photo by photo: how many came out worse than their input, and the worst."""
    print("\n| photos made worse (worst: dB over its input; clean: dB above 40) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in scores[names[0]]:
        cells = []
        for n in names:
            row = scores[n][key]
            photos = row.get("photos")
            if not photos:
                cells.append("(not recorded)")
                continue
            worst = min(photos, key=gain)
            cells.append(f"{row['worse']} of {len(photos)}, worst {worst['photo']} {gain(worst):+.2f}")
        print(f"| {key[1]} ({key[0].upper()}) | " + " | ".join(cells) + " |")


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def restoration(scores):
    """The rows of the restoration tasks: all but `clean`, which has no degraded input."""
    return {key: row for key, row in scores.items() if key[1] != "clean"}


def print_targets(scores, names, targets):
    """Each ticket against the targets: its figure and whether it holds."""
    print("\n| target | asked | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for task, kind, bar in targets:
        cells = []
        for n in names:
            row = next(r for (_, t), r in scores[n].items() if t == task)
            value = row["output_psnr"] - (row["input_psnr"] if kind == "gain" else 0)
            shown = f"{value:+.2f}" if kind == "gain" else f"{value:.2f}"
            cells.append(f"{shown} {'met' if value >= bar else 'short'}")
        asked = f"≥ +{bar:.1f} dB over the input" if kind == "gain" else f"≥ {bar:.1f} dB"
        print(f"| {task} | {asked} | " + " | ".join(cells) + " |")
    if "dense" in scores:
        dense = mean(r["output_psnr"] for r in restoration(scores["dense"]).values())
        cells = []
        for n in names:
            diff = mean(r["output_psnr"] for r in restoration(scores[n]).values()) - dense
            cells.append("" if n == "dense" else f"{diff:+.2f} {'met' if diff >= -WITHIN_DENSE else 'short'}")
        print(f"| mean of the restoration tasks, against dense | within {WITHIN_DENSE} dB | " + " | ".join(cells) + " |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tickets", nargs="+", metavar="NAME=TICKET")
    p.add_argument("--limit", type=int, help="only the first N photos of each set")
    p.add_argument("--json-dir", type=Path)
    p.add_argument("--remove", default="all", help="all (default), auto, or asked: see above")
    p.add_argument("--family", default="all-in-one", choices=sorted(FAMILIES), help="what the tickets are scored on: see above")
    a = p.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/mirl-target"))
    json_dir = a.json_dir or target / "quality"
    json_dir.mkdir(parents=True, exist_ok=True)
    tickets = []
    for spec in a.tickets:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).is_file():
            sys.exit(f"quality: {spec!r} is not NAME=TICKET with an existing ticket file")
        tickets.append((name, Path(path).resolve()))

    suites, targets = FAMILIES[a.family]
    scores = {name: {} for name, _ in tickets}
    for name, ticket in tickets:
        for suite, tasks in suites:
            for task, row in evaluate(name, ticket, suite, tasks, a.limit, json_dir, a.remove, a.family).items():
                scores[name][(suite, task)] = row
    names = [n for n, _ in tickets]
    print_targets(scores, names, targets)
    first = restoration(scores[tickets[0][0]])
    for metric, fmt in (("psnr", "{:.2f}"), ("ssim", "{:.4f}")):
        unit = " (dB)" if metric == "psnr" else ""
        print(f"\n| {metric.upper()}{unit} | photos | degraded input | " + " | ".join(names) + " |")
        print("|---|---|---|" + "---|" * len(names))
        for key, row in first.items():
            suite, task = key
            cells = [fmt.format(scores[n][key][f"output_{metric}"]) for n in names]
            print(f"| {task} | {suite.upper()} ({row['images']}) | {fmt.format(row[f'input_{metric}'])} | " + " | ".join(cells) + " |")
        # The unweighted mean over the tasks: what "within 0.3 dB of the dense network" compares.
        cells = [fmt.format(mean(r[f"output_{metric}"] for r in restoration(scores[n]).values())) for n in names]
        inputs = fmt.format(mean(r[f"input_{metric}"] for r in first.values()))
        print(f"| mean of the {len(first)} tasks | | {inputs} | " + " | ".join(cells) + " |")
        # Clean photos have no degraded input: the output against the photo itself.
        clean = [(k, r) for k, r in scores[names[0]].items() if k[1] == "clean"]
        for key, row in clean:
            cells = [fmt.format(scores[n][key][f"output_{metric}"]) for n in names]
            print(f"| clean, passed through | {key[0].upper()} ({row['images']}) | | " + " | ".join(cells) + " |")
    print_photos(scores, names)
    print("\n| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    facts = [json.loads(native_trainer("inspect", str(t), "--json")) for _, t in tickets]
    print("| parameters | " + " | ".join(f"{f['parameters']:,}" for f in facts) + " |")
    print("| non-zero parameters | " + " | ".join(f"{f['nonzero']:,} ({100 * f['density']:.1f}%)" for f in facts) + " |")
    print("| ticket bytes | " + " | ".join(f"{f['file_bytes']:,} ({f['precision']})" for f in facts) + " |")


if __name__ == "__main__":
    main()
