"""Reference PSNR/SSIM values from scikit-image, for tests/metrics.rs.

Run from this folder:  python3 make_vectors.py [../../../../shared]
Needs numpy, pillow and scikit-image (pip install numpy pillow scikit-image).

Photo pairs: a crop of a CBSD68 photo (read from the shared data folder at test time, never
copied here) and a degraded copy (numpy Gaussian noise as the paper adds it, or Pillow JPEG).
Only the residual (degraded - clean) is stored, as a 16-bit grey PNG of shape (h, w*3) with
offset 32768, so the test rebuilds the degraded crop exactly. Synthetic pairs are stored whole.
"""
import json
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

shared = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared")
photos = shared / "data" / "test" / "cbsd68"
rng = np.random.default_rng(2024)


def scores(clean, degraded):
    a, b = clean.astype(np.float64) / 255, degraded.astype(np.float64) / 255
    return {
        "psnr": float(peak_signal_noise_ratio(a, b, data_range=1)),
        "ssim": float(structural_similarity(a, b, channel_axis=2, data_range=1)),
    }


def jpeg(img, q):
    buf = BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=q)
    return np.array(Image.open(BytesIO(buf.getvalue())).convert("RGB"))


vectors = []
pairs = [
    ("101085.png", (40, 60, 128, 96), "noise:25"),
    ("108005.png", (200, 100, 96, 128), "noise:50"),
    ("119082.png", (0, 0, 160, 120), "jpeg:10"),
    ("143090.png", (300, 150, 128, 128), "jpeg:40"),
    ("101087.png", (17, 33, 75, 61), "noise:15+jpeg:30"),
]
for name, (x, y, w, h), kind in pairs:
    clean = np.array(Image.open(photos / name).convert("RGB"))[y:y + h, x:x + w]
    out = clean
    for step in kind.split("+"):
        what, arg = step.split(":")
        if what == "noise":
            out = np.clip(out.astype(np.float64) + rng.normal(0, float(arg), out.shape), 0, 255).astype(np.uint8)
        else:
            out = jpeg(out, int(arg))
    residual = (out.astype(np.int32) - clean.astype(np.int32) + 32768).reshape(h, w * 3).astype(np.uint16)
    file = f"{Path(name).stem}-{kind.replace(':', '').replace('+', '-')}.residual.png"
    Image.fromarray(residual).save(file)
    vectors.append({"photo": name, "crop": [x, y, w, h], "degradation": kind, "residual": file, **scores(clean, out)})

for i, (w, h) in enumerate([(7, 7), (33, 20)]):
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int32) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    Image.fromarray(a).save(f"synthetic{i}-a.png")
    Image.fromarray(b).save(f"synthetic{i}-b.png")
    vectors.append({"a": f"synthetic{i}-a.png", "b": f"synthetic{i}-b.png", **scores(a, b)})

Path("vectors.json").write_text(json.dumps(vectors, indent=1) + "\n")
print(json.dumps(vectors, indent=1))
