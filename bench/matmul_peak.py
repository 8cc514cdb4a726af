"""The machine's practical f32 peak: GFLOP/s of a large matrix product on all the cores
PyTorch uses (median of 5). Prints one JSON line: {"n": N, "threads": T, "gflops": G}."""

import json
import statistics
import time

import torch

n = 4096
a, b = torch.rand(n, n), torch.rand(n, n)
a @ b  # warm-up
times = []
for _ in range(5):
    t = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t)
flops = 2 * n**3
print(json.dumps({"n": n, "threads": torch.get_num_threads(), "gflops": flops / statistics.median(times) / 1e9}))
