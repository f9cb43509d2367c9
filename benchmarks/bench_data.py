"""Data loading at the paper's size: the prepared cache against preprocessing on the fly.

A phantom of full-size DICOMs (mostly 3056×2544, scale 1.0) is written, then:

* ``prepare`` throughput (images/s): DICOM → 1536×1280 uint16 input, Ψ and masks on the
  48×40 grid, with ``--workers`` processes;
* the reference, no cache: what a Dataset would do per item on the fly (``read_dicom``, area
  resampling to 1536×1280, Ψ, masks), one process;
* ``CachedDataset`` through ``DataLoader(batch_size=4, num_workers=0)`` and default collate
  (images/s, page cache warm), and the ratio to the reference. Target: ≥ 500 images/s.
* the cache's image storage, float16 (default) against uint16: loader throughput, float32
  conversion speed, worst error.

    python benchmarks/bench_data.py [--n 16] [--workers 2] [--epochs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ggcam.data import EGDCXR, CachedDataset, make_phantom, prepare
from ggcam.data.resample import to_input
from ggcam.geometry import grid_geometry

INPUT = (1536, 1280)  # the paper's network input
STRIDE = 32
TARGET = 500.0  # images/s from the cache


def _on_the_fly(ds: EGDCXR) -> float:
    """Seconds per item when each DICOM is read and preprocessed when asked for."""
    t = time.perf_counter()
    for i in range(len(ds)):
        geom = grid_geometry(ds.image_shape(i), ds.grid_shape)
        image = torch.from_numpy(to_input(ds.read_image(i), geom, STRIDE))[None]
        gaze, masks = ds.gaze_map(i), ds.masks(i)
        del image, gaze, masks
    return (time.perf_counter() - t) / len(ds)


def _loader(cache: Path, epochs: int, rounds: int = 3) -> tuple[float, float, int]:
    """Best and median images/s over ``rounds`` rounds of ``epochs`` passes (shared machines)."""
    loader = DataLoader(CachedDataset(cache), batch_size=4, num_workers=0)
    for _ in loader:  # warm the page cache and the allocator
        pass
    rates = []
    for _ in range(rounds):
        n, t = 0, time.perf_counter()
        for _ in range(epochs):
            for batch in loader:
                n += len(batch["image"])
        rates.append(n / (time.perf_counter() - t))
    return max(rates), float(np.median(rates)), n


def _storage(n: int = 8) -> dict:
    """uint16 against float16 for [0, 1] images: float32 conversion speed, worst error."""
    exact = np.random.default_rng(0).random((n, *INPUT))
    out = {}
    for name, arr, scale in (("uint16", np.rint(exact * 65535).astype(np.uint16), 1 / 65535),
                             ("float16", exact.astype(np.float16), 1.0)):
        best, got = 0.0, None
        for _ in range(3):
            t = time.perf_counter()
            got = [torch.from_numpy(a).to(torch.float32) for a in arr]
            got = [g.mul_(scale) for g in got] if scale != 1.0 else got
            best = max(best, n / (time.perf_counter() - t))
        err = max(float(np.abs(g.numpy() - e).max()) for g, e in zip(got, exact))
        out[name] = (best, err)
    return out


def main(argv=None) -> list[dict]:
    """Print the markdown section; return the tables for ``benchmarks/results.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="full-size phantom images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10, help="passes over the cache")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    torch.set_num_threads(max(1, args.workers))
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        t = time.perf_counter()
        roots = make_phantom(Path(tmp) / "phantom", n_images=args.n, scale=1.0, seed=0,
                             workers=args.workers, progress=False)
        t_phantom = time.perf_counter() - t
        t = time.perf_counter()
        cache = prepare(roots["egd_root"], roots["mimic_root"], Path(tmp) / "cache",
                        input_shape=INPUT, stride=STRIDE, workers=args.workers, progress=False)
        t_prepare = time.perf_counter() - t
        ds = EGDCXR(roots["egd_root"], roots["mimic_root"], grid_shape=(INPUT[0] // STRIDE, INPUT[1] // STRIDE),
                    progress=False)
        per_item = _on_the_fly(ds)
        rate, median, n = _loader(cache, args.epochs)
        exact = prepare(roots["egd_root"], roots["mimic_root"], Path(tmp) / "cache-u16",
                        input_shape=INPUT, stride=STRIDE, workers=args.workers, progress=False,
                        image_dtype="uint16")
        rate16, median16, _ = _loader(exact, args.epochs)
        storage = _storage()
        mib = (cache / "images.npy").stat().st_size / args.n / 2**20
    fly = 1.0 / per_item
    print("## Data loading\n")
    print(f"{args.n} full-size phantom DICOMs (scale 1.0), network input {INPUT[0]}×{INPUT[1]}, "
          f"Ω {INPUT[0] // STRIDE}×{INPUT[1] // STRIDE}, {args.workers} worker process(es).\n")
    print("| step | images/s | note |\n|---|---:|---|")
    print(f"| `make_phantom` (write DICOM, masks, gaze) | {args.n / t_phantom:.1f} | {t_phantom:.1f} s |")
    print(f"| `prepare` (DICOM → cache) | {args.n / t_prepare:.1f} | {t_prepare:.1f} s, "
          f"{mib:.2f} MiB/image (float16) |")
    print(f"| reference: preprocess on the fly, no cache | {fly:.1f} | {1000 * per_item:.0f} ms/image |")
    print(f"| `CachedDataset` + `DataLoader(batch_size=4)` | {rate:.0f} | best of 3 × {n} images "
          f"(median {median:.0f}); target ≥ {TARGET:.0f} {'✓' if rate >= TARGET else '✗'} |")
    print(f"| same, `prepare(..., image_dtype=\"uint16\")` | {rate16:.0f} | median {median16:.0f} |")
    print(f"\nCache against on the fly: **{rate / fly:.0f}×** faster.\n")
    print("Image storage, 2 bytes a pixel either way: conversion of one 1536×1280 image to "
          "float32 (torch, as `CachedDataset`) and worst error on [0, 1] values:\n")
    print("| dtype | images/s | max abs error |\n|---|---:|---:|")
    for name, (speed, err) in storage.items():
        print(f"| {name} | {speed:.0f} | {err:.1e} |")
    setup = (f"{args.n} full-size phantom DICOMs, network input {INPUT[0]}×{INPUT[1]}, "
             f"Ω {INPUT[0] // STRIDE}×{INPUT[1] // STRIDE}, {args.workers} worker process(es).")
    steps = [("make_phantom (full size)", args.n / t_phantom, f"{t_phantom:.1f} s for {args.n} images"),
             (f"prepare ({args.workers} workers)", args.n / t_prepare, f"{mib:.2f} MiB per image (float16)"),
             ("reference: read + preprocess each DICOM on the fly", fly, f"{1000 * per_item:.0f} ms per image"),
             ("CachedDataset + DataLoader(batch_size=4), float16", rate,
              f"target ≥ {TARGET:.0f}: {'met' if rate >= TARGET else 'missed'}"),
             ("same, uint16 storage", rate16, f"median {median16:.0f}")]
    return [{"table": "", "title": "Data: the prepared cache against preprocessing on the fly",
             "setup": setup, "columns": ["step", "images/s", "note"],
             "rows": [{"step": s, "images/s": v, "note": n} for s, v, n in steps],
             "summary": f"The cached loader is {rate / fly:.0f}× faster than preprocessing on the fly."},
            {"table": "storage", "title": "Image storage: float16 against uint16",
             "setup": "Conversion of one 1536×1280 image to float32 (torch, as CachedDataset) and "
                      "the worst error on [0, 1] values; 2 bytes a pixel either way.",
             "columns": ["dtype", "images/s", "max abs error"],
             "rows": [{"dtype": k, "images/s": v, "max abs error": e} for k, (v, e) in storage.items()],
             "summary": ""}]


if __name__ == "__main__":
    main()
