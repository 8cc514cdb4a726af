#!/usr/bin/env python3
"""The noise pilot's table for QUALITY.md, from the arms' eval JSONs (quality/ARM.json, written
by pilot.sh) and their CPU time (run-ARM/cpu.txt; ../osn-pilot/run-allinone for `mix`): per
arm and task the output PSNR on LIVE1, its gain over the input, the photos made worse and
the least gain, and the gain per CPU-hour of training.

    python3 table.py bundled mix noise wide crop96
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOISE = ["noise:15", "noise:25", "noise:50"]
RUNS = {"mix": HERE.parent / "osn-pilot" / "run-allinone"}


def cpu_hours(arm):
    """CPU time of the arm's training (all starts), in hours; None for a ticket trained
    elsewhere (`bundled`)."""
    path = RUNS.get(arm, HERE / f"run-{arm}") / "cpu.txt"
    if not path.exists():
        return None
    return sum(float(s) for s in re.findall(r"([\d.]+) s CPU", path.read_text())) / 3600


def main(arms):
    evals = {a: {t["task"]: t for t in json.loads((HERE / "quality" / f"{a}.json").read_text())["tasks"]} for a in arms}
    print("| task | input | " + " | ".join(arms) + " |")
    print("|---|---|" + "---|" * len(arms))
    for task in NOISE + ["clean"]:
        cells = []
        for a in arms:
            t = evals[a][task]
            if task == "clean":
                below = sum(p["output_psnr"] < 40 for p in t["photos"])
                cells.append(f"{t['output_psnr']:.2f} dB, {below} below 40")
            else:
                least = min(p["output_psnr"] - p["input_psnr"] for p in t["photos"])
                g = t["output_psnr"] - t["input_psnr"]
                cells.append(f"{t['output_psnr']:.2f} dB, {g:+.2f} ({t['worse']} worse, least {least:+.2f})")
        inp = "" if task == "clean" else f"{evals[arms[0]][task]['input_psnr']:.2f} dB"
        print(f"| {task} | {inp} | " + " | ".join(cells) + " |")
    means = {a: sum(evals[a][t]["output_psnr"] - evals[a][t]["input_psnr"] for t in NOISE) / len(NOISE) for a in arms}
    print("| mean gain, σ 15 / 25 / 50 | | " + " | ".join(f"{means[a]:+.2f}" for a in arms) + " |")
    hours = {a: cpu_hours(a) for a in arms}
    print("| CPU-hours of training | | " + " | ".join("—" if hours[a] is None else f"{hours[a]:.2f}" for a in arms) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
