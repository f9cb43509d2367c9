"""Dynamic range of image-space localisation on the phantom, at three network input sizes.

Not a ratio benchmark (``run_all.py`` does not pick it up): it measures whether the study's
localisation metrics can separate a map that knows the findings (the oracle) from one that
knows nothing of the image (the best fixed location), and so picks the study's input size
(``ggcam.experiment.design_checks``, which prepares the phantom exactly as the study does).

    python benchmarks/dynamic_range.py [--n 300] [--work-root /tmp/ggcam-dynrange]

Writes ``benchmarks/dynamic_range.csv`` (one row per size, class and metric), which page 07
shows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from ggcam.experiment.design_checks import MARGIN, dynamic_range_at, passes

HERE = Path(__file__).resolve().parent
SIZES = ((192, 160), (256, 224), (320, 256))  # network inputs (H, W); grids 6×5, 8×7, 10×8
COLUMNS = ["input", "tolerance_px", "class", "judged", "metric", "images", "oracle", "best fixed",
           "mean prior", "random", "oracle - fixed", "passes"]


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="phantom images")
    parser.add_argument("--work-root", type=Path, default=Path("/tmp/ggcam-dynrange"))
    parser.add_argument("--out", type=Path, default=HERE / "dynamic_range.csv")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    tables = [dynamic_range_at(size, args.n, args.work_root) for size in SIZES]
    table = pd.concat(tables, ignore_index=True)[COLUMNS]
    table.round(4).to_csv(args.out, index=False)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    passing = [t["input"].iat[0] for t in tables if passes(t)]
    print(f"\nsmallest input passing with margin {MARGIN} (pneumonia): {passing[0] if passing else 'none'}"
          f" ({time.perf_counter() - t:.0f} s)")
    return table


if __name__ == "__main__":
    main()
