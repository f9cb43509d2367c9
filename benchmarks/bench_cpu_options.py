"""CPU training-step options for the `cpu` profile's networks, against plain float32 NCHW.

For ResNet18 and EfficientNet-B0 + GG-CAM at the `cpu` profile's input and batch, the images
per second of a full training step (forward, eq. 11, backward, Adam) with: the reference
(contiguous NCHW, deterministic algorithms off), channels_last, deterministic algorithms on
(what ``fit`` sets on CPU) and torch.compile (inductor). ``run_all.py`` records the table in
``benchmarks/results.json``.

The options are timed in interleaved rounds (reference, option, reference, option, ...) and
each figure is the median over rounds, so a background job slows every option alike and the
ratios hold on a busy machine. torch.compile's first steps compile (a minute or more per
network on 2 cores): they are the warm-up and are not timed.

    python benchmarks/bench_cpu_options.py [--steps 4] [--rounds 5] [--no-compile]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import ggcam
from ggcam.experiment import get_profile
from ggcam.runtime import device_name

OPTIONS = {"reference": {}, "channels_last": dict(channels_last=True),
           "deterministic": dict(deterministic=True), "compile": dict(compile_=True)}


def make_step(network: str, shape, batch: int, *, channels_last=False, compile_=False):
    """One GG-CAM training step of ``network`` on fixed random inputs, as a closure."""
    torch.manual_seed(0)
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

    return step


def timed(step, steps: int, deterministic: bool) -> float:
    """Steps per second over ``steps`` steps (the caller multiplies by the batch)."""
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    try:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        return steps / (time.perf_counter() - t0)
    finally:
        torch.use_deterministic_algorithms(False)


def main(argv=None) -> list[dict]:
    """Print one row per network; return the table for ``benchmarks/results.json``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4, help="timed steps per round and option")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median taken)")
    p.add_argument("--no-compile", dest="compile", action="store_false",
                   help="skip torch.compile (its compilation takes minutes)")
    a = p.parse_args(argv)
    prof = get_profile("cpu")
    shape, batch = prof.input_shape, prof.batch_size
    names = [n for n in OPTIONS if a.compile or n != "compile"]
    print("## CPU training-step options (the cpu profile's networks)\n")
    rows = []
    for net in prof.networks:
        steps, warm = {}, {}
        for name in names:
            kw = OPTIONS[name]
            steps[name] = make_step(net, shape, batch, channels_last=kw.get("channels_last", False),
                                    compile_=kw.get("compile_", False))
            t0 = time.perf_counter()
            for _ in range(3):  # warm-up; for compile, the compilation
                steps[name]()
            warm[name] = time.perf_counter() - t0
        rates = {n: [] for n in names}
        for _ in range(a.rounds):
            for name in names:
                rates[name].append(batch * timed(steps[name], a.steps,
                                                 OPTIONS[name].get("deterministic", False)))
        base = statistics.median(rates["reference"])
        row = {"network": net, "input": f"{shape[0]}×{shape[1]}", "batch": batch,
               "reference img/s": round(base, 2)}
        for name in names[1:]:
            r = statistics.median(rates[name])
            row[f"{name} img/s"], row[f"{name} ratio"] = round(r, 2), round(r / base, 3)
        if a.compile:
            row["compile warm-up s"] = round(warm["compile"], 1)
        rows.append(row)
        print(row, flush=True)
    return [{"table": "", "title": "CPU training-step options (the cpu profile's networks)",
             "setup": f"{device_name('cpu')}, {torch.get_num_threads()} threads; full training "
                      f"step (forward, eq. 11, backward, Adam) at {shape[0]}×{shape[1]}, batch "
                      f"{batch}; {a.rounds} interleaved rounds of {a.steps} steps per option, "
                      "medians; each option against contiguous NCHW float32 with deterministic "
                      "algorithms off.",
             "columns": list(rows[0]), "rows": rows, "summary": ""}]


if __name__ == "__main__":
    main()
