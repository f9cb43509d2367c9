"""Shared by ``ggcam.stats.unpaired`` and ``ggcam.stats.paired``: the input checks and the number of
Monte-Carlo relabellings a permutation test draws beyond exact enumeration."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_PERMUTATIONS = 9_999  # Monte-Carlo relabellings beyond exact enumeration (stats.MAX_EXACT, sign_flip_test)


def check_columns(runs: pd.DataFrame, columns) -> None:
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(f"runs must be a pandas DataFrame, got {type(runs).__name__}")
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs has no column(s) {missing}; it has {list(runs.columns)}")


def as_tuple(by) -> tuple[str, ...]:
    return () if by is None else (by,) if isinstance(by, str) else tuple(by)


def make_rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_level(level: float, name: str) -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {level!r}")


def check_n_boot(n_boot) -> int:
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    return int(n_boot)
