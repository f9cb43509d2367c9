"""Checks that fix the study's design before it runs: here, the input size.

**The dynamic-range check.** A localisation metric is worth reporting only if a map that
knows where the findings are (the oracle: the true findings averaged onto the Ω grid, then
upsampled like any Ω) beats the best map that knows nothing of the image (one fixed location,
fitted on the training images) by a clear margin. On a coarse grid it cannot: at 192×160
(Ω 6×5) a pneumonia consolidation is smaller than half a cell. ``dynamic_range_at`` scores
both on a phantom prepared exactly as the study prepares its data (``ggcam.data.prepare``:
the findings in network-input pixels, ``CachedDataset.finding_masks``), and the study takes
the smallest input at which ``passes`` holds.

Only pneumonia is judged: every CHF image's finding is the enlarged heart, which barely moves
between images, so a fixed location near the heart scores as well as any map at every input
size. CHF localisation is reported, beside its baselines, but cannot tell maps apart.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.geometry import STRIDE
from ggcam.metrics import baselines
from ggcam.metrics import image_localisation as imloc

SCALE = 0.0625  # the cpu profile's phantom scale
MARGIN = 0.1  # the oracle must beat the best fixed location by this much on every metric
JUDGED = ("pneumonia",)  # the classes whose localisation can tell maps apart (see above)


def half_split(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: each class shuffled and halved (train gets the odd one)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[: (len(idx) + 1) // 2])
        test.append(idx[(len(idx) + 1) // 2:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _prepared(input_shape, n_images: int, work_root: Path, seed: int):
    from ggcam.data import CachedDataset, ensure_dataset, prepare
    from ggcam.gaze import sigma_from_kernel_size

    roots = ensure_dataset(work_root=work_root, n_images=n_images, scale=SCALE, seed=seed,
                           progress=False)
    H, W = input_shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the reader's drop report
        path = prepare(roots.egd_root, roots.mimic_root, work_root / "prepared" / f"n{n_images}-s{seed}-{H}x{W}",
                       input_shape=input_shape, kernel_size=None,
                       sigma=sigma_from_kernel_size(500) * SCALE, progress=False)
    return CachedDataset(path)


def dynamic_range_at(input_shape, n_images: int, work_root, seed: int = 0,
                     margin: float = MARGIN) -> pd.DataFrame:
    """``image_localisation.dynamic_range`` at one input size, on a phantom of ``n_images``
    (made under ``work_root`` once), half of each class to fit the baselines, half to score.

    Returns:
        one row per class and metric: oracle, best fixed, mean prior, random, their gap and
        ``passes``; with columns ``input`` ("256x224"), ``tolerance_px`` and ``judged``.
    """
    data = _prepared(tuple(input_shape), n_images, Path(work_root), seed)
    labels, masks = data.labels(), data.finding_masks()
    train, test = half_split(labels, seed)
    psi = np.stack([data[int(i)]["gaze"].numpy() for i in train])
    tol = imloc.tolerance_at(input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # constant maps, documented
        table = baselines.dynamic_range(masks[test], labels[test], masks[train], tuple(input_shape),
                                    data.grid_shape, tol, margin, labels_train=labels[train],
                                    train_maps=psi)
    return table.assign(input=f"{input_shape[0]}x{input_shape[1]}", tolerance_px=round(tol, 3),
                        judged=table["class"].isin(JUDGED))


def passes(table: pd.DataFrame) -> bool:
    """Whether every judged row of ``dynamic_range_at``'s table passes."""
    judged = table[table["judged"]]
    if judged.empty:
        raise ValueError("the dynamic-range table has no judged class (no pneumonia image scored)")
    return bool(judged["passes"].all())


def read_dynamic_range(path: str | Path) -> pd.DataFrame:
    """``benchmarks/dynamic_range.csv`` (``benchmarks/dynamic_range.py``), checked: errors name
    the file and what is missing."""
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the dynamic-range table {path}: {err}") from None
    need = ["input", "class", "judged", "metric", "oracle", "best fixed", "mean prior", "passes"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: the dynamic-range table lacks column(s) {missing}")
    for column in ("judged", "passes"):
        if table[column].dtype != bool:
            raise ValueError(f"{path}: column {column} must hold True/False")
    return table


def input_label(table: pd.DataFrame, which: int | str | None) -> str:
    """"192×160 (Ω 6×5)" for the table's ``which``-th input (in table order) or a named one."""
    sizes = list(dict.fromkeys(table["input"]))
    if which is None:
        return "none of the inputs measured"
    size = sizes[which] if isinstance(which, int) else which
    h, w = (int(v) for v in size.split("x"))
    return f"{h}×{w} (Ω {h // STRIDE}×{w // STRIDE})"


def score(table: pd.DataFrame, which: int, metric: str, column: str) -> float:
    """One judged score: ``column`` ("oracle", "best fixed", ...) of ``metric`` at the
    ``which``-th input."""
    size = list(dict.fromkeys(table["input"]))[which]
    row = table[(table["input"] == size) & table["judged"] & (table["metric"] == metric)]
    if row.empty:
        raise ValueError(f"the dynamic-range table has no judged {metric!r} row at {size}")
    return round(float(row.iloc[0][column]), 3)


def chosen_input(table: pd.DataFrame) -> str | None:
    """The smallest input ("256x224") at which every judged metric passes, or None."""
    ok = [(int(h) * int(w), size) for size, rows in table.groupby("input", sort=False)
          if passes(rows) for h, w in [size.split("x")]]
    return min(ok)[1] if ok else None


def dynamic_range_display(table: pd.DataFrame) -> pd.DataFrame:
    """The judged rows for readers: input and Ω grid, metric, the three maps' scores, the gap
    and whether it clears ``MARGIN`` (✓/✗)."""
    rows = table[table["judged"]]
    grid = rows["input"].map(lambda s: "×".join(str(int(v) // STRIDE) for v in s.split("x")))
    return pd.DataFrame({
        "input (Ω grid)": rows["input"].str.replace("x", "×") + " (" + grid + ")",
        "metric, pneumonia": rows["metric"],
        "oracle": rows["oracle"], "best fixed location": rows["best fixed"],
        "mean-gaze map": rows["mean prior"],
        "oracle − fixed": rows["oracle"] - rows["best fixed"],
        f"≥ {MARGIN:g}": rows["passes"].map({True: "✓", False: "✗"}),
    }).reset_index(drop=True)
