"""CPU training-step options for the `cpu` profile's networks, against plain float32 NCHW.

For ResNet18 and EfficientNet-B0 + GG-CAM at the `cpu` profile's input and batch, the images
per second of a full training step (forward, eq. 11, backward, Adam) with: the reference
(contiguous NCHW, deterministic algorithms off), channels_last, deterministic algorithms on
(what ``fit`` sets on CPU) and torch.compile. ``run_all.py`` records the table in
``benchmarks/results.json``.

    python benchmarks/bench_cpu_options.py [--steps 6] [--no-compile]

torch.compile's first steps compile (a minute or more per network on 2 cores); they are the
warm-up and are not timed. The ratio is that of steady-state steps.
"""

from __future__ import annotations

import argparse
import time

import torch

import ggcam
from ggcam.experiment import get_profile
from ggcam.runtime import device_name


def rate(network: str, shape, batch: int, steps: int, *, channels_last=False,
         deterministic=False, compile_=False) -> float:
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = ggcam.build_model(network).to(memory_format=fmt)
    loss_fn = ggcam.GGCAMLoss(sigma_sm=0.1).double()
    opt = torch.optim.Adam(list(model.parameters()) + list(loss_fn.parameters()), lr=1e-3)
    fwd = torch.compile(model.forward_cams) if compile_ else model.forward_cams
    x = torch.rand(batch, 3, *shape).contiguous(memory_format=fmt)
    y = torch.randint(0, 3, (batch,))
    g = torch.rand(batch, shape[0] // 32, shape[1] // 32)

    def step():
        logits, cams = fwd(x)
        total, _ = loss_fn(logits, cams, y, g)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.use_deterministic_algorithms(False)
    return batch * steps / (time.perf_counter() - t0)


def main(argv=None) -> list[dict]:
    """Print one row per network; return the table for ``benchmarks/results.json``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--no-compile", dest="compile", action="store_false",
                   help="skip torch.compile (its compilation takes minutes)")
    a = p.parse_args(argv)
    prof = get_profile("cpu")
    shape, batch = prof.input_shape, prof.batch_size
    rows = []
    for net in prof.networks:
        base = rate(net, shape, batch, a.steps)
        row = {"network": net, "input": f"{shape[0]}×{shape[1]}", "batch": batch,
               "reference img/s": base}
        variants = {"channels_last": dict(channels_last=True),
                    "deterministic": dict(deterministic=True)}
        if a.compile:
            variants["compile"] = dict(compile_=True)
        for name, kw in variants.items():
            r = rate(net, shape, batch, a.steps, **kw)
            row[f"{name} img/s"], row[f"{name} ratio"] = r, r / base
        rows.append(row)
        print(row, flush=True)
    return [{"table": "", "title": "CPU training-step options (the cpu profile's networks)",
             "setup": f"{device_name('cpu')}, {torch.get_num_threads()} threads; full training "
                      f"step (forward, eq. 11, backward, Adam) at {shape[0]}×{shape[1]}, batch "
                      f"{batch}, {a.steps} timed steps; each option against contiguous NCHW "
                      "float32 with deterministic algorithms off.",
             "columns": list(rows[0]), "rows": rows, "summary": ""}]


if __name__ == "__main__":
    main()
