"""A parametric chest for the phantom: one patient's anatomy and findings, as level sets.

Every structure is a level set f(u, v) (negative inside, roughly the distance to the border in
chest units), evaluated wherever it is needed: at low resolution to draw the image, and
upsampled to full resolution to cut the masks, so masks and drawing share one border.

Chest coordinates: u runs to the image's right (the patient's left), v downward; the lungs'
outer edges lie near u = ±1, the apices near v = −1 and the diaphragm near v = +0.75. A pixel
(x, y) maps to (u, v) by the patient's centre (cx, cy), size ``unit`` (pixels per chest unit)
and a small rotation ``theta``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Cardiothoracic ratio per class (mean, sd): the spreads overlap on purpose (CHF is not a
# threshold on heart size), and CHF shows edema or effusion only in some cases.
CTR = {0: (0.45, 0.035), 1: (0.54, 0.045), 2: (0.46, 0.04)}
EDEMA_P, EFFUSION_P = 0.55, 0.35  # share of CHF cases with each finding


@dataclass(frozen=True)
class Anatomy:
    cx: float  # chest centre, image x (pixels)
    cy: float  # chest centre, image y (pixels)
    unit: float  # pixels per chest unit
    theta: float  # rotation (radians), patient tilt
    lung_w: tuple[float, float]  # lateral extent of the (right, left) lung, units
    lung_h: float  # apex height factor
    dome: tuple[float, float]  # diaphragm height v of the (right, left) dome
    mid_u: float  # mediastinum centre line u
    heart: tuple[float, float, float, float, float]  # u, v, semi-axes a, b, tilt (rad)
    ctr: float  # cardiothoracic ratio actually drawn
    female: bool  # breast shadows in the lower zones


@dataclass(frozen=True)
class Findings:
    consolidations: tuple[tuple[float, float, float, float], ...]  # (u, v, radius, strength)
    edema: float  # perihilar haze density, 0 = none
    effusion: tuple[float, float]  # fluid height (right, left) above the dome, 0 = none


def sample_anatomy(rng: np.random.Generator, label: int, shape, female: bool) -> Anatomy:
    """One patient's chest in an (H, W) image; CHF (label 1) enlarges the heart on average."""
    H, W = shape
    unit = min(0.40 * W, 0.36 * H) * rng.uniform(0.92, 1.04)
    cx = W / 2 + rng.normal(0, 0.03) * unit
    cy = 0.46 * H + rng.normal(0, 0.04) * unit
    lung_w = (rng.normal(1.0, 0.04), rng.normal(1.0, 0.04))
    dome_r = rng.normal(0.70, 0.04)
    dome = (dome_r, dome_r + rng.normal(0.05, 0.02))
    mean, sd = CTR[int(label)]
    ctr = float(np.clip(rng.normal(mean, sd), 0.36, 0.68))
    ex = ctr * (lung_w[0] + lung_w[1]) / 2  # half the heart's horizontal extent
    b = 0.30 + 0.25 * (ctr - 0.45) + rng.normal(0, 0.015)
    tilt = rng.uniform(0.30, 0.55)
    a = math.sqrt(max(ex**2 - (b * math.sin(tilt)) ** 2, 0.04) / math.cos(tilt) ** 2)
    mid_u = rng.normal(0.0, 0.02)
    u_right_border = mid_u - (0.29 + 0.35 * (ex - 0.45)) + rng.normal(0, 0.02)
    heart = (u_right_border + ex, dome[1] + 0.10 - 0.75 * b, a, b, tilt)
    return Anatomy(float(cx), float(cy), float(unit), float(rng.normal(0, 0.035)),
                   (float(lung_w[0]), float(lung_w[1])), float(rng.normal(1.0, 0.03)),
                   (float(dome[0]), float(dome[1])), float(mid_u),
                   tuple(float(t) for t in heart), ctr, bool(female))


def sample_findings(rng: np.random.Generator, label: int, anat: Anatomy) -> Findings:
    """Pneumonia: 1-3 focal consolidations in random lung zones; CHF: edema and/or effusion."""
    cons = []
    if label == 2:
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            side = rng.choice([-1, 1])
            w = anat.lung_w[0 if side < 0 else 1]
            zone = rng.integers(3)  # upper, mid, lower
            v = [-0.55, -0.05, 0.40][zone] + rng.uniform(-0.12, 0.12)
            u = side * w * rng.uniform(0.30, 0.80)
            cons.append((float(u), float(v), float(rng.uniform(0.09, 0.20)),
                         float(rng.uniform(0.13, 0.28))))
    edema, effusion = 0.0, (0.0, 0.0)
    if label == 1:
        if rng.random() < EDEMA_P:
            edema = float(rng.uniform(0.08, 0.18))
        if rng.random() < EFFUSION_P:
            sides = rng.choice(3)  # right, left, both
            h = lambda: float(rng.uniform(0.06, 0.22))
            effusion = (h() if sides != 1 else 0.0, h() if sides != 0 else 0.0)
    return Findings(tuple(cons), edema, effusion)


def chest_coords(anat: Anatomy, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of image points (x, y) (broadcastable arrays, pixels)."""
    c, s = math.cos(anat.theta), math.sin(anat.theta)
    dx, dy = (x - anat.cx) / anat.unit, (y - anat.cy) / anat.unit
    return (c * dx + s * dy).astype(np.float32), (-s * dx + c * dy).astype(np.float32)


def image_coords(anat: Anatomy, u, v) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``chest_coords``: (x, y) pixels of chest points (u, v)."""
    c, s = math.cos(anat.theta), math.sin(anat.theta)
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return anat.cx + anat.unit * (c * u - s * v), anat.cy + anat.unit * (s * u + c * v)


def _ellipse(du, dv, a, b):
    return (np.sqrt((du / a) ** 2 + (dv / b) ** 2) - 1.0) * min(a, b)


def _superellipse(du, dv, a, b):
    """|du/a|^2.5 + |dv/b|^2.5 = 1; (g − 1)/2.5 is g^(1/2.5) − 1 to first order at the border."""
    x, y = np.abs(du / a), np.abs(dv / b)
    g = x * x * np.sqrt(x) + y * y * np.sqrt(y)
    return (g - 1.0) * (min(a, b) / 2.5)


def diaphragm(anat: Anatomy, u, side: int):
    """v of the diaphragm under the (side −1: right, +1: left) lung at lateral position u."""
    w = anat.lung_w[0 if side < 0 else 1]
    ul = side * u / w
    return anat.dome[0 if side < 0 else 1] + 0.9 * (ul - 0.5) ** 2


def heart_f(anat: Anatomy, u, v):
    hu, hv, a, b, t = anat.heart
    du, dv = u - hu, v - hv
    c, s = math.cos(t), math.sin(t)
    return _ellipse(c * du + s * dv, -s * du + c * dv, a, b)


def band_f(anat: Anatomy, u, v):
    """The upper mediastinum: a band widening downward from the neck to the heart."""
    half = 0.13 + 0.06 * (v + 1.0)
    return np.maximum(np.abs(u - anat.mid_u) - half,
                      np.maximum(-1.15 - v, v - anat.heart[1]))


def mediastinum_f(anat: Anatomy, u, v):
    """Mediastinum mask: upper band ∪ heart, above the left dome."""
    return np.maximum(np.minimum(band_f(anat, u, v), heart_f(anat, u, v)),
                      v - (anat.dome[1] + 0.12))


def lung_f(anat: Anatomy, u, v, side: int, med=None):
    """Lung (side −1: right lung = image left; +1: left lung = image right)."""
    w = anat.lung_w[0 if side < 0 else 1]
    outer = _superellipse(side * u - 0.52 * w, v - 0.02, 0.48 * w, 0.99 * anat.lung_h)
    med = mediastinum_f(anat, u, v) if med is None else med
    return np.maximum(np.maximum(outer, v - diaphragm(anat, u, side)), 0.012 - med)


def aortic_knob_f(anat: Anatomy, u, v):
    return np.sqrt((u - anat.mid_u - 0.16) ** 2 + (v + 0.52) ** 2) - 0.075


def trachea_f(anat: Anatomy, u, v):
    return np.maximum(np.abs(u - 0.5 * anat.mid_u) - 0.055, np.maximum(-1.6 - v, v + 0.55))


def clavicle_f(anat: Anatomy, u, v, side: int):
    """A bar from the sternal notch outward and up."""
    ul = side * u
    centre = -1.00 - 0.22 * (ul - 0.1)
    return np.maximum(np.abs(v - centre) - 0.045, np.maximum(0.08 - ul, ul - 0.95))


def body_f(anat: Anatomy, u, v):
    """Soft tissue outline: trunk widening downward, a neck above the shoulders."""
    shoulder = 1.0 / (1.0 + np.exp(-(v + 1.3) / 0.05))
    half = 0.45 + (1.25 + 0.08 * v - 0.45) * shoulder
    return np.abs(u) - half


def mask_fields(anat: Anatomy, u, v) -> dict[str, np.ndarray]:
    """The four EGD-CXR mask level sets (file stem → f), negative inside."""
    med = mediastinum_f(anat, u, v)
    return {
        "left_lung": lung_f(anat, u, v, +1, med),
        "right_lung": lung_f(anat, u, v, -1, med),
        "mediastanum": med,
        "aortic_knob": aortic_knob_f(anat, u, v),
    }
