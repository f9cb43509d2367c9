"""Training-step throughput: the released code's way against ours, in one run.

Released: float32, contiguous (NCHW) memory. Ours: bf16 autocast with the loss in float32,
channels_last, optionally torch.compile. ResNet50 and EfficientNetV2-S + GG-CAM, batch 4 (the
paper's) and a larger batch. On a GPU at 1536×1280 (the paper's input); on CPU at a small size,
only to show the script works (absolute CPU times mean little).

    python benchmarks/bench_train_step.py [--size 1536x1280] [--batches 4,16] [--compile]
"""

from __future__ import annotations

import argparse
import time

import torch

import ggcam


def step_rate(network: str, batch: int, shape, device, *, ours: bool, compile_: bool, steps: int) -> float:
    torch.manual_seed(0)
    model = ggcam.build_model(network).to(device)
    loss_fn = ggcam.GGCAMLoss(sigma_sm=2e-9).to(device)
    fmt = torch.channels_last if ours else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(list(model.parameters()) + list(loss_fn.parameters()), lr=1e-4)
    fwd = torch.compile(model.forward_cams) if compile_ else model.forward_cams
    h, w = shape[0] // 32, shape[1] // 32
    x = torch.rand(batch, 3, *shape, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 3, (batch,), device=device)
    g = torch.rand(batch, h, w, device=device)
    dtype = torch.bfloat16

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=ours):
            logits, cams = fwd(x)
        total, _ = loss_fn(logits, cams, y, g)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(3):  # warm-up (and compilation)
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch * steps / (time.perf_counter() - t0)


def main(argv=None) -> list[dict]:
    """Print the markdown section; return the table for ``benchmarks/results.json``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default=None, help="HxW (default: 1536x1280 on GPU, 128x96 on CPU)")
    p.add_argument("--batches", default=None, help="comma-separated batch sizes (default: 4,16 GPU; 4 CPU)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--compile", action="store_true", help="also time torch.compile (GPU)")
    a = p.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    shape = tuple(int(v) for v in (a.size or ("1536x1280" if gpu else "128x96")).split("x"))
    batches = [int(b) for b in (a.batches or ("4,16" if gpu else "4")).split(",")]
    steps = a.steps or (20 if gpu else 2)
    from ggcam.runtime import device_name

    print("## Training step: released (fp32, NCHW) vs ours (bf16 autocast, channels_last)\n")
    print(f"Device: {device_name(str(device))}; input {shape[0]}×{shape[1]}; {steps} timed steps.\n")
    if not gpu:
        print("On a CPU bf16 is emulated and slow: this run only shows the script works; the "
              "ratio that matters is the GPU's.\n")
    print("| network | batch | released img/s | ours img/s | ratio |" + (" compiled img/s | ratio |" if a.compile else ""))
    print("|---|---|---|---|---|" + ("---|---|" if a.compile else ""))
    table = []
    for net in ("resnet50", "efficientnet_v2_s"):
        for b in batches:
            base = step_rate(net, b, shape, device, ours=False, compile_=False, steps=steps)
            ours = step_rate(net, b, shape, device, ours=True, compile_=False, steps=steps)
            row = f"| {net}+GG-CAM | {b} | {base:.2f} | {ours:.2f} | {ours / base:.2f}× |"
            table.append({"network": f"{net}+GG-CAM", "batch": b, "input": f"{shape[0]}×{shape[1]}",
                          "released img/s": base, "ours img/s": ours, "ratio": ours / base})
            if a.compile:
                comp = step_rate(net, b, shape, device, ours=True, compile_=True, steps=steps)
                row += f" {comp:.2f} | {comp / base:.2f}× |"
                table[-1].update({"compiled img/s": comp, "compiled ratio": comp / base})
            print(row, flush=True)
            if gpu:
                torch.cuda.empty_cache()
    return [{"table": "",
             "title": "Training step: released (fp32, NCHW) against ours (bf16 autocast, channels_last)",
             "setup": f"{device_name(str(device))}; input {shape[0]}×{shape[1]}; {steps} timed steps."
                      + ("" if gpu else " On a CPU bf16 is emulated and slow: this only shows the "
                         "script works."),
             "columns": list(table[0]), "rows": table, "summary": ""}]


if __name__ == "__main__":
    main()
