"""Region masks: reading the release's PNGs and putting them on the Ω grid.

A mask goes to the Ω grid with ``ggcam.geometry``'s placement, the same one the gaze map and
the network input use: ``block_mean`` gives the covered fraction of every cell, and a cell
belongs to the region when

* ``mask_rule="majority"`` (default): at least half of it is covered;
* ``mask_rule="any"``: any of it is covered (a looser region, as a 3×3 dilation would be).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ggcam.data.layout import MASK_FILES
from ggcam.geometry import GridGeometry, block_mean

MASK_RULES = ("majority", "any")


def mask_path(folder: Path, key: str) -> Path:
    """The file of mask ``key`` in an image's folder, accepting the alternative spellings."""
    present = [folder / name for name in MASK_FILES[key] if (folder / name).exists()]
    for path in present:
        if not path.is_file():
            raise ValueError(f"mask {path} is not a file (a folder?)")
    if len(present) > 1:
        raise ValueError(f"mask {key!r} of {folder} is there twice, as {present[0].name} and "
                         f"{present[1].name}: which one is the mask? Remove the other")
    if present:
        return present[0]
    raise FileNotFoundError(f"mask not found: {folder / MASK_FILES[key][0]}"
                            + (f" (nor {', '.join(MASK_FILES[key][1:])})" if len(MASK_FILES[key]) > 1 else ""))


def read_mask(path, shape=None) -> np.ndarray:
    """A binary PNG mask as bool (H, W): any value > 0 is inside; colour collapses by max.

    Binary means at most two levels after the collapse, one of them 0 (0/255, 0/1, or a
    colour mask's 0/c): a mask re-saved lossily (JPEG) or resampled has grey borders and is
    refused rather than thresholded at a guess.

    Args:
        path: the PNG file.
        shape: the expected (H, W) (the DICOM's); a mismatch is an error naming the file.

    Raises:
        ValueError: unreadable, wrong shape, or not binary (naming the file and its levels).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            # the header's size first: a mask that cannot match is refused before it is decoded
            # (a header claiming 20000x20000 would otherwise take gigabytes)
            if shape is not None and (img.height, img.width) != tuple(shape):
                raise ValueError(f"mask {path} has shape {(img.height, img.width)}, the image has "
                                 f"{tuple(shape)}")
            if img.mode == "P":
                img = img.convert("RGB")
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"unreadable mask {path}: {exc}") from exc
    if arr.ndim == 3:
        colour = arr[..., :3].max(axis=2) if arr.shape[2] >= 3 else arr[..., 0]
        alpha = arr[..., -1] if arr.shape[2] in (2, 4) else None
        # a mask drawn only in the alpha channel (colour all black) is read from its alpha
        arr = alpha if alpha is not None and not colour.any() and alpha.any() else colour
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"mask {path} has shape {arr.shape}, the image has {tuple(shape)}")
    inside = arr > 0
    on = arr[inside]
    if on.size and (on != on[0]).any():
        levels = np.unique(arr)
        raise ValueError(f"mask {path} is not binary: {len(levels)} levels "
                         f"({', '.join(map(str, levels[:6]))}{', ...' if len(levels) > 6 else ''}); "
                         "expected 0 and one other value (0/255 or 0/1)")
    if not inside.any():
        warnings.warn(f"mask {path} is empty: no pixel inside", stacklevel=2)
    return inside


def box_mask(box, shape) -> np.ndarray:
    """bool (H, W): pixels whose centre lies in the box (x1, x2, y1, y2), image pixels."""
    x1, x2, y1, y2 = (float(b) for b in box)
    H, W = shape
    cols = (np.arange(W) + 0.5 >= x1) & (np.arange(W) + 0.5 < x2)
    rows = (np.arange(H) + 0.5 >= y1) & (np.arange(H) + 0.5 < y2)
    return rows[:, None] & cols[None, :]


def to_grid(mask: np.ndarray, geometry: GridGeometry, rule: str = "majority") -> np.ndarray:
    """A full-resolution bool mask (H0, W0) on the Ω grid: bool (h, w), by ``rule``."""
    if rule not in MASK_RULES:
        raise ValueError(f"mask_rule must be one of {MASK_RULES}, got {rule!r}")
    covered = block_mean(mask, geometry)
    return covered >= 0.5 if rule == "majority" else covered > 0
