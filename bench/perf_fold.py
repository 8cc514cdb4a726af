"""Summarises `perf script` output (samples with call stacks) of a training run: the share of
samples in autodiff's backward pass, and the top operations, each sample charged to its
innermost frame that names a kernel (burn-flex, gemm, the network's own CPU kernels)."""

import collections
import re
import sys

KERNEL = re.compile(
    r"(burn_flex::ops::[a-z_]+::[A-Za-z_0-9]+|mirl::(model|ops)::[A-Za-z_:0-9]+"
    r"|burn_autodiff::ops::[a-z_]+|burn_optim::[A-Za-z_:]+|native_trainer::[A-Za-z_:]+"
    r"|gemm_f32::microkernel|gemm_common|__mem(set|move|cpy)\w*|_int_(malloc|free)|exc_page_fault)"
)


def samples(lines):
    stack = None
    for line in lines:
        if not line.strip():
            if stack:
                yield stack
            stack = None
        elif not line[0].isspace():
            stack = []
        elif stack is not None:
            parts = line.split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else parts[0])
    if stack:
        yield stack


def main():
    kernels, backward, total = collections.Counter(), 0, 0
    for stack in samples(open(sys.argv[1], errors="replace")):
        total += 1
        backward += any("execute_steps" in f for f in stack)
        name = next((m.group(0) for f in stack if (m := KERNEL.search(f))), "other")
        kernels[re.sub(r"::[a-z_]+_(avx|sse|neon|simd)\w*$", "", name)] += 1
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    print(f"{total} samples, {100 * backward / total:.0f}% in the backward pass")
    print("| share | operation (innermost kernel frame) |\n|---|---|")
    for name, n in kernels.most_common(top):
        print(f"| {100 * n / total:.1f}% | `{name}` |")


main()
