#!/usr/bin/env python3
"""The OSN pilot's table for QUALITY.md, from the arms' eval JSONs (quality/ARM.json, written
by pilot.sh) and their CPU time (run-ARM/cpu.txt): per arm and task the mean gain over the
input on LIVE1, the photos made worse and the worst, and the gain per CPU-hour of training.

    python3 table.py bundled allinone osn wide luma qmap
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The rows: LIVE1's JPEG benchmarks, then the realistic profiles, then clean photos.
JPEG = ["jpeg:10", "jpeg:20", "jpeg:30", "jpeg:40"]
PROFILES = ["osn:upload", "osn:upload444", "osn:messenger", "osn:reshare", "osn:recrop"]


def cpu_hours(arm):
    """CPU time of the arm's training (all starts), in hours; None for a ticket trained
    elsewhere (`bundled`: the bundled ticket, for reference)."""
    path = HERE / f"run-{arm}" / "cpu.txt"
    if not path.exists():
        return None
    return sum(float(s) for s in re.findall(r"([\d.]+) s CPU", path.read_text())) / 3600


def main(arms):
    evals = {a: {t["task"]: t for t in json.loads((HERE / "quality" / f"{a}.json").read_text())["tasks"]} for a in arms}
    hours = {a: cpu_hours(a) for a in arms}
    print("| task | input | " + " | ".join(arms) + " |")
    print("|---|---|" + "---|" * len(arms))
    for task in JPEG + PROFILES + ["clean"]:
        first = evals[arms[0]][task]
        cells = []
        for a in arms:
            t = evals[a][task]
            worst = min(t["photos"], key=lambda p: (p["output_psnr"] - p["input_psnr"]) if p["input_psnr"] is not None else p["output_psnr"])
            if task == "clean":
                below = sum(p["output_psnr"] < 40 for p in t["photos"])
                cells.append(f"{t['output_psnr']:.2f} dB, {below} below 40")
            else:
                g = t["output_psnr"] - t["input_psnr"]
                wg = worst["output_psnr"] - worst["input_psnr"]
                cells.append(f"{g:+.2f} ({t['worse']} worse, least {wg:+.2f})")
        inp = "" if task == "clean" else f"{first['input_psnr']:.2f} dB"
        print(f"| {task} | {inp} | " + " | ".join(cells) + " |")
    means = {}
    for a in arms:
        gains = [evals[a][t]["output_psnr"] - evals[a][t]["input_psnr"] for t in JPEG + PROFILES]
        means[a] = sum(gains) / len(gains)
    print("| mean gain, JPEG and profiles | | " + " | ".join(f"{means[a]:+.2f}" for a in arms) + " |")
    fmt = lambda v, f: "—" if v is None else f.format(v)
    print("| CPU-hours of training | | " + " | ".join(fmt(hours[a], "{:.2f}") for a in arms) + " |")
    print("| dB gained per CPU-hour | | " + " | ".join(fmt(hours[a] and means[a] / hours[a], "{:+.2f}") for a in arms) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
