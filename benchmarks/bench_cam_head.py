"""The CAM layer against GAP + Linear and against the released code's broadcast, same run.

One training-sized head step: A of shape (B, G, h, w) = (4, 2048, 48, 40) (ResNet50 at
1536×1280), K = 3, forward + backward of cross-entropy on the logits plus an MSE on
sigmoid(Ω) (GAP + Linear has no Ω: cross-entropy only). Variants:

* ``gap_linear``: ``nn.Linear(G, K)(A.mean((2, 3)))``, the head the CAM layer replaces;
* ``cam_head``: ``ggcam.CAMHead`` (what the package ships);
* ``conv1x1``: eq. 4 as a 1×1 convolution (``cam_head``'s path for channels_last input);
* ``broadcast``: the released code's ``(W[None, :, :, None, None] * A[:, None]).sum(2)``, a
  B×K×G×h×w intermediate.

Each variant runs in its own fresh process. Peak memory is the working memory of one step
above the inputs (A and the head's parameters), which includes ∂L/∂A (the same 60 MiB for
every variant): on CPU the growth of the peak resident set (``ru_maxrss``), on CUDA
``torch.cuda.max_memory_allocated``. Targets: the CAM layer within 5% of GAP + Linear, and at
least 5× less than the broadcast.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

B, G, H, W, K = 4, 2048, 48, 40, 3
VARIANTS = ("gap_linear", "cam_head", "conv1x1", "broadcast")
REPEATS = 7
MEMORY_TARGET = 1.05  # CAM layer peak / GAP + Linear peak
BROADCAST_TARGET = 5.0  # broadcast peak / CAM layer peak


def _worker(variant: str, device: str) -> dict:
    import torch
    import torch.nn.functional as F
    from torch import nn

    import ggcam

    dev = torch.device(device)
    torch.manual_seed(0)
    head = ggcam.CAMHead(G, K).to(dev)
    linear = nn.Linear(G, K).to(dev)
    linear.load_state_dict(head.state_dict())

    def step(A: torch.Tensor, labels: torch.Tensor, gaze: torch.Tensor) -> None:
        if variant == "gap_linear":
            logits, cams = linear(A.mean(dim=(2, 3))), None
        elif variant == "cam_head":
            logits, cams = head(A)
        elif variant == "conv1x1":
            cams = F.conv2d(A, head.weight[:, :, None, None])
            logits = cams.mean(dim=(2, 3)) + head.bias
        else:  # broadcast, as in the released code
            cams = (head.weight[None, :, :, None, None] * A[:, None]).sum(2)
            logits = cams.mean(dim=(2, 3)) + head.bias
        loss = F.cross_entropy(logits, labels)
        if cams is not None:
            own = cams[torch.arange(len(labels), device=dev), labels]
            loss = loss + (torch.sigmoid(own) - gaze).pow(2).mean()
        loss.backward()
        A.grad = None
        for p in (*head.parameters(), *linear.parameters()):
            p.grad = None

    def inputs(b: int, h: int, w: int):
        g = torch.Generator(device=dev).manual_seed(1)
        A = torch.randn(b, G, h, w, device=dev, generator=g).requires_grad_()
        labels = torch.arange(b, device=dev) % K
        gaze = torch.rand(b, h, w, device=dev, generator=g)
        return A, labels, gaze

    step(*inputs(1, 2, 2))  # load kernels and libraries at a negligible size
    args = inputs(B, H, W)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(*args)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step(*args)
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024  # KiB on Linux
    times = []
    for _ in range(REPEATS):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        step(*args)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return dict(variant=variant, device=device, threads=torch.get_num_threads(),
                peak_bytes=peak, input_bytes=args[0].numel() * args[0].element_size(),
                best_s=min(times), median_s=statistics.median(times))


def _run(variant: str, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", variant, device],
                         check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


NAMES = {"gap_linear": "GAP + Linear", "cam_head": "ggcam.CAMHead", "conv1x1": "1×1 convolution",
         "broadcast": "released broadcast"}


def main() -> list[dict]:
    """Print the markdown section; return the table for ``benchmarks/results.json``."""
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("## CAM head\n")
    print(f"A = {B}×{G}×{H}×{W} float32, K = {K}; forward + backward; one fresh process per "
          f"variant; time: best (median) of {REPEATS}; peak: working memory above the inputs "
          "(includes ∂L/∂A).\n")
    table, summaries = [], []
    for device in devices:
        rows = {v: _run(v, device) for v in VARIANTS}
        gap, cam, bc = rows["gap_linear"], rows["cam_head"], rows["broadcast"]
        mib = 2**20
        print(f"**{device}** ({cam['threads']} threads; A is {cam['input_bytes'] / mib:.0f} MiB)\n")
        print("| variant | time | peak memory | peak / GAP+Linear | broadcast peak / this |")
        print("|---|---:|---:|---:|---:|")
        for v, r in rows.items():
            print(f"| {v} | {r['best_s'] * 1e3:.1f} ms ({r['median_s'] * 1e3:.1f}) | "
                  f"{r['peak_bytes'] / mib:.0f} MiB | {r['peak_bytes'] / gap['peak_bytes']:.2f} | "
                  f"{bc['peak_bytes'] / r['peak_bytes']:.1f}× |")
            table.append({"device": device, "variant": NAMES[v], "time, best (ms)": r["best_s"] * 1e3,
                          "time, median (ms)": r["median_s"] * 1e3,
                          "peak memory (MiB)": r["peak_bytes"] / mib,
                          "peak / GAP+Linear": r["peak_bytes"] / gap["peak_bytes"],
                          "broadcast peak / this": bc["peak_bytes"] / r["peak_bytes"]})
        mem = cam["peak_bytes"] / gap["peak_bytes"]
        vs_bc = bc["peak_bytes"] / cam["peak_bytes"]
        summaries.append(
            f"{device}: CAM layer peak {mem:.2f}× GAP + Linear (target ≤ {MEMORY_TARGET:.2f}: "
            f"{'met' if mem <= MEMORY_TARGET else 'MISSED'}), {vs_bc:.1f}× less than the "
            f"broadcast (target ≥ {BROADCAST_TARGET:.0f}×: "
            f"{'met' if vs_bc >= BROADCAST_TARGET else 'MISSED'}); time "
            f"{cam['best_s'] / gap['best_s']:.2f}× GAP + Linear, "
            f"{bc['best_s'] / cam['best_s']:.1f}× faster than the broadcast.")
        print(f"\n{summaries[-1]}\n")
    return [{"table": "", "title": "CAM head",
             "setup": f"A = {B}×{G}×{H}×{W} float32, K = {K}, forward + backward; one fresh process "
                      f"per variant; time: best and median of {REPEATS}; peak: working memory "
                      "above the inputs (includes ∂L/∂A).",
             "columns": list(table[0]), "rows": table, "summary": " ".join(summaries)}]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], sys.argv[3])))
    else:
        main()
