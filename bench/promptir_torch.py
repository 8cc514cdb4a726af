"""PromptIR in PyTorch, written from ../shared/docs/network.md: the reference the training
benchmark compares against. `python3 bench/promptir_torch.py` checks it against the
promptir-tiny fixture first."""

import json
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, groups=1):
    return nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False)


class LayerNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Module()
        self.body.weight = nn.Parameter(torch.ones(c))
        self.body.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = x.var(1, keepdim=True, unbiased=False)
        w = self.body.weight.view(1, -1, 1, 1)
        b = self.body.bias.view(1, -1, 1, 1)
        return (x - mu) / torch.sqrt(var + 1e-5) * w + b


class Attention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = conv(c, 3 * c, 1)
        self.qkv_dwconv = conv(3 * c, 3 * c, 3, groups=3 * c)
        self.project_out = conv(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        shape = (b, self.heads, c // self.heads, h * w)
        q = F.normalize(q.reshape(shape), dim=-1)
        k = F.normalize(k.reshape(shape), dim=-1)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(-1)
        return self.project_out((attn @ v.reshape(shape)).reshape(b, c, h, w))


class FeedForward(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.project_in = conv(c, 2 * hidden, 1)
        self.dwconv = conv(2 * hidden, 2 * hidden, 3, groups=2 * hidden)
        self.project_out = conv(hidden, c, 1)

    def forward(self, x):
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)


class TransformerBlock(nn.Module):
    def __init__(self, c, heads, factor):
        super().__init__()
        self.norm1 = LayerNorm(c)
        self.attn = Attention(c, heads)
        self.norm2 = LayerNorm(c)
        self.ffn = FeedForward(c, int(c * factor))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv(c, c // 2, 3), nn.PixelUnshuffle(2))

    def forward(self, x):
        return self.body(x)


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv(c, 2 * c, 3), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


class PromptGenBlock(nn.Module):
    def __init__(self, dim, size, length, lin):
        super().__init__()
        self.prompt_param = nn.Parameter(torch.rand(1, length, dim, size, size))
        self.linear_layer = nn.Linear(lin, length)
        self.conv3x3 = conv(dim, dim, 3)

    def forward(self, x):
        b, c, h, w = x.shape
        weights = F.softmax(self.linear_layer(x.mean(dim=(-2, -1))), dim=1)
        prompt = (weights.view(b, -1, 1, 1, 1) * self.prompt_param).sum(1)
        prompt = F.interpolate(prompt, (h, w), mode="bilinear", align_corners=False)
        return self.conv3x3(prompt)


class PromptIR(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, nb, hd, f = cfg["dim"], cfg["num_blocks"], cfg["heads"], cfg["ffn_expansion_factor"]
        L, (p1, p2, p3) = cfg["prompt_len"], cfg["prompts"]
        lvl = lambda n, c, h: nn.Sequential(*[TransformerBlock(c, h, f) for _ in range(n)])
        self.patch_embed = nn.Module()
        self.patch_embed.proj = conv(3, d, 3)
        self.encoder_level1 = lvl(nb[0], d, hd[0])
        self.down1_2 = Down(d)
        self.encoder_level2 = lvl(nb[1], 2 * d, hd[1])
        self.down2_3 = Down(2 * d)
        self.encoder_level3 = lvl(nb[2], 4 * d, hd[2])
        self.down3_4 = Down(4 * d)
        self.latent = lvl(nb[3], 8 * d, hd[3])
        self.prompt1 = PromptGenBlock(p1["dim"], p1["size"], L, 2 * d)
        self.prompt2 = PromptGenBlock(p2["dim"], p2["size"], L, 4 * d)
        self.prompt3 = PromptGenBlock(p3["dim"], p3["size"], L, 8 * d)
        self.noise_level3 = TransformerBlock(8 * d + p3["dim"], hd[2], f)
        self.reduce_noise_level3 = conv(8 * d + p3["dim"], 4 * d, 1)
        self.up4_3 = Up(4 * d)
        self.reduce_chan_level3 = conv(6 * d, 4 * d, 1)
        self.decoder_level3 = lvl(nb[2], 4 * d, hd[2])
        self.noise_level2 = TransformerBlock(4 * d + p2["dim"], hd[2], f)
        self.reduce_noise_level2 = conv(4 * d + p2["dim"], 4 * d, 1)
        self.up3_2 = Up(4 * d)
        self.reduce_chan_level2 = conv(4 * d, 2 * d, 1)
        self.decoder_level2 = lvl(nb[1], 2 * d, hd[1])
        self.noise_level1 = TransformerBlock(2 * d + p1["dim"], hd[2], f)
        self.reduce_noise_level1 = conv(2 * d + p1["dim"], 2 * d, 1)
        self.up2_1 = Up(2 * d)
        self.decoder_level1 = lvl(nb[0], 2 * d, hd[0])
        self.refinement = lvl(cfg["num_refinement_blocks"], 2 * d, hd[0])
        self.output = conv(2 * d, 3, 3)

    def forward(self, img):
        e1 = self.encoder_level1(self.patch_embed.proj(img))
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        lat = self.latent(self.down3_4(e3))
        lat = self.reduce_noise_level3(self.noise_level3(torch.cat([lat, self.prompt3(lat)], 1)))
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)))
        d3 = self.reduce_noise_level2(self.noise_level2(torch.cat([d3, self.prompt2(d3)], 1)))
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d2 = self.reduce_noise_level1(self.noise_level1(torch.cat([d2, self.prompt1(d2)], 1)))
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1))
        return self.output(self.refinement(d1)) + img


SMALL = {
    "dim": 16, "num_blocks": [1, 1, 1, 2], "num_refinement_blocks": 1, "heads": [1, 2, 4, 8],
    "ffn_expansion_factor": 2.66, "prompt_len": 5,
    "prompts": [{"dim": 16, "size": 16}, {"dim": 32, "size": 8}, {"dim": 64, "size": 4}],
}

TINY = {
    "dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1, "heads": [1, 2, 4, 8],
    "ffn_expansion_factor": 2.0, "prompt_len": 3,
    "prompts": [{"dim": 8, "size": 16}, {"dim": 16, "size": 8}, {"dim": 32, "size": 4}],
}
PRESETS = {"tiny": TINY, "small": SMALL}


def check_fixture(shared):
    """Max abs error of this implementation on the promptir-tiny fixture."""
    from safetensors.torch import load_file

    fixture = Path(shared) / "fixtures/promptir-tiny"
    net = PromptIR(json.loads((fixture / "config.json").read_text()))
    net.load_state_dict(load_file(fixture / "weights.safetensors"), strict=False)
    io = load_file(fixture / "io.safetensors")
    with torch.no_grad():
        return (net(io["input"]) - io["output"]).abs().max().item()


if __name__ == "__main__":
    shared = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).parent / "../../shared")
    err = check_fixture(shared)
    print(f"promptir-tiny fixture: max abs error {err:.2e}")
    sys.exit(0 if err < 1e-4 else 1)
