"""Exports a ticket to ONNX, for running it with onnxruntime-web beside mirl (bench/ort.mjs).

    native-trainer export [T.mirl] -o weights.safetensors --config config.json
    python3 bench/export_onnx.py weights.safetensors config.json out.onnx

The network is bench/promptir_torch.py (checked against the promptir-tiny fixture); the graph
takes any (1, 3, H, W) input with H and W multiples of 8."""

import json
import sys

import torch
from safetensors.torch import load_file

from promptir_torch import PromptIR

weights, config, out = sys.argv[1:4]
net = PromptIR(json.loads(open(config).read()))
net.load_state_dict(load_file(weights), strict=True)
net.eval()
x = torch.rand(1, 3, 64, 64)
h, w = torch.export.Dim("h8", min=1, max=512), torch.export.Dim("w8", min=1, max=512)
with torch.no_grad():
    torch.onnx.export(net, (x,), out, input_names=["input"], output_names=["output"],
                      dynamic_shapes={"img": {2: 8 * h, 3: 8 * w}}, dynamo=True, external_data=False)
print(f"wrote {out}")
