"""Times training steps in PyTorch on the CPU: the same network, L1 loss, AdamW and batch as
`native-trainer train --recipe small` (or the tiny network). Prints one JSON line:
{"steps": N, "seconds": S, "steps_per_s": R}."""

import argparse
import json
import time

import torch

from promptir_torch import PRESETS, PromptIR

p = argparse.ArgumentParser()
p.add_argument("--network", choices=sorted(PRESETS), default="small")
p.add_argument("--steps", type=int, default=20)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=64)
p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
net = PromptIR(PRESETS[a.network])
opt = torch.optim.AdamW(net.parameters(), lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)
shape = (a.batch, 3, a.crop, a.crop)
batches = [(torch.rand(shape), torch.rand(shape)) for _ in range(4)]
start = time.perf_counter()
for step in range(a.steps):
    x, y = batches[step % len(batches)]
    loss = (net(x) - y).abs().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
seconds = time.perf_counter() - start
print(json.dumps({"steps": a.steps, "seconds": seconds, "steps_per_s": a.steps / seconds}))
