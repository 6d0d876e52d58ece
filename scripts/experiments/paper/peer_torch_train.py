#!/usr/bin/env python3
"""Train the PyTorch reference DCGAN (scripts/benchmarks/peer_torch_dcgan.py's networks) on a
data set for some epochs and save its sample grids, as a behavioural cross-check of ours:
same networks, same losses, same optimiser, same data, same number of steps.

Runs in a Python that has torch (not in the package's dependencies), e.g.:

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy pillow
    /tmp/torchvenv/bin/python scripts/experiments/paper/peer_torch_train.py --epochs 8 --out /tmp/peer

Reads keras_emojigan/data/emoji_faces/emoji_faces.npz directly (no TensorFlow needed) and
writes OUT/epoch_NNNN.png (64 fixed latents, generator in eval mode, like emojigan's grids)
and OUT/history.csv (mean D loss, G loss, D(x), D(G(z)) per epoch).
"""

import argparse
import csv
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[3]


def load_peer(path: Path):
    spec = importlib.util.spec_from_file_location("peer_torch_dcgan", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def init_weights(module):  # the pytorch/examples dcgan initialisation
    name = type(module).__name__
    if "Conv" in name:
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        torch.nn.init.normal_(module.weight, 1.0, 0.02)
        torch.nn.init.zeros_(module.bias)


def grid(images: np.ndarray, columns=8, gap=2) -> Image.Image:
    n, h, w, _ = images.shape
    rows = (n + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + gap) + gap), (236, 236, 236))
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet.paste(Image.fromarray(image), (gap + c * (w + gap), gap + r * (h + gap)))
    return sheet


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", type=Path, default=REPO / "scripts" / "benchmarks" / "peer_torch_dcgan.py")
    ap.add_argument("--data", type=Path, default=REPO / "keras_emojigan" / "data" / "emoji_faces" / "emoji_faces.npz")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=35)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    peer = load_peer(a.peer)
    torch.manual_seed(a.seed)
    images = np.load(a.data)["images"]
    data = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    g, d = peer.generator(100, 64), peer.discriminator(64)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=a.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=a.lr, betas=(0.5, 0.999))
    loss = torch.nn.BCEWithLogitsLoss()
    fixed = torch.randn(64, 100, 1, 1)
    a.out.mkdir(parents=True, exist_ok=True)
    with open(a.out / "history.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds"])
        for epoch in range(a.epochs):
            started, sums = time.time(), np.zeros(4)
            order = torch.randperm(len(data))
            steps = len(data) // a.batch
            for step in range(steps):
                real = data[order[step * a.batch:(step + 1) * a.batch]]
                ones, zeros = torch.ones(a.batch), torch.zeros(a.batch)
                fake = g(torch.randn(a.batch, 100, 1, 1))
                opt_d.zero_grad()
                real_logits, fake_logits = d(real).view(-1), d(fake.detach()).view(-1)
                ld = loss(real_logits, ones) + loss(fake_logits, zeros)
                ld.backward()
                opt_d.step()
                opt_g.zero_grad()
                lg = loss(d(fake).view(-1), ones)
                lg.backward()
                opt_g.step()
                sums += [ld.item(), lg.item(), torch.sigmoid(real_logits).mean().item(),
                         torch.sigmoid(fake_logits).mean().item()]
            writer.writerow([epoch, *np.round(sums / steps, 4), round(time.time() - started, 1)])
            fh.flush()
            g.eval()
            with torch.no_grad():
                sample = ((g(fixed) + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
            g.train()
            grid(sample).save(a.out / f"epoch_{epoch:04d}.png")


if __name__ == "__main__":
    main()
