"""Drawing the phantom chest: a density map at low resolution, upsampled, with fine noise.

The image is an X-ray-like projection: density D (soft tissue, minus lung air, plus bone,
heart and findings) becomes intensity 1 − exp(−k·D), with per-image exposure (k, gamma,
gain, offset, window) and quantum noise added at full resolution. Everything is drawn at a
low resolution (long side ≤ ``LOW_RES``) with vectorised numpy and upsampled linearly; the
masks are the same level sets upsampled and thresholded at 0, so they follow the drawing.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ggcam.data.layout import BBOX_NAMES
from ggcam.data.phantom import anatomy as pa

LOW_RES = 512  # long side of the drawing grid, pixels
EDGE = 0.012  # soft edge of organs, chest units


def _inside(f, eps=EDGE):
    """Soft indicator of a level set: 1 inside, 0 outside, 0.5 on the border."""
    return (0.5 - 0.5 * np.tanh(f / (2 * eps))).astype(np.float32)


def low_res_grid(shape) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Pixel-centre coordinates x (1, w), y (h, 1) of the low-resolution drawing grid."""
    H, W = shape
    f = max(1, math.ceil(max(H, W) / LOW_RES))
    h, w = math.ceil(H / f), math.ceil(W / f)
    x = ((np.arange(w) + 0.5) * W / w)[None, :]
    y = ((np.arange(h) + 0.5) * H / h)[:, None]
    return x, y, (h, w)


def upsample(low: np.ndarray, shape) -> np.ndarray:
    """Linear interpolation (pixel centres aligned) of (h, w) to (H, W), float32."""
    def axis(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        return i0, np.minimum(i0 + 1, n_in - 1), (src - i0).astype(np.float32)

    low = np.asarray(low, dtype=np.float32)
    r0, r1, a = axis(low.shape[0], shape[0])
    c0, c1, b = axis(low.shape[1], shape[1])
    rows = low[r0] + (low[r1] - low[r0]) * a[:, None]
    step = np.diff(rows, axis=1, append=rows[:, -1:])  # rows[:, j + 1] − rows[:, j]
    out = step[:, c0]
    out *= b[None, :] * (c1 > c0)[None, :]
    out += rows[:, c0]
    return out


def upsample_sign(low: np.ndarray, shape) -> np.ndarray:
    """``upsample(low, shape) < 0``; on large images computed at half resolution, then
    repeated (borders within a pixel of the exact ones, 4× less arithmetic)."""
    H, W = shape
    if min(H, W) < 1000:
        return upsample(low, shape) < 0
    half = upsample(low, ((H + 1) // 2, (W + 1) // 2)) < 0
    return half.repeat(2, axis=0).repeat(2, axis=1)[:H, :W]


def _smooth_noise(rng, shape, sigma_px):
    """Unit-variance Gaussian random field of correlation length ``sigma_px`` pixels.

    Wide fields are made on a coarser grid (2 coarse pixels per σ) and upsampled.
    """
    step = max(1, int(sigma_px // 2))
    coarse = (-(-shape[0] // step) + 1, -(-shape[1] // step) + 1)
    n = rng.standard_normal(coarse, dtype=np.float32)
    n = ndimage.gaussian_filter(n, max(sigma_px / step, 0.5), mode="wrap")
    if step > 1:
        n = upsample(n, (coarse[0] * step, coarse[1] * step))
    n = n[: shape[0], : shape[1]]
    return n / max(float(n.std()), 1e-6)


def _vessels(rng, u, v, hila, px_units) -> np.ndarray:
    """Vessel shadows radiating from the two hila, curving and tapering (low-res density)."""
    side = (u > 0.5 * (hila[0][0] + hila[1][0])).astype(np.float32)
    du = u - np.where(side > 0, hila[1][0], hila[0][0])
    dv = v - hila[0][1]
    r = np.hypot(du, dv)
    # A random field over (angle, radius), smooth along the radius: its zero set is radial.
    n_phi, n_r = 64, 40
    field = ndimage.gaussian_filter(rng.standard_normal((2, n_phi, n_r)), (0, 1.0, 3.0), mode="wrap")
    field /= field.std()
    phi = np.arctan2(dv, du) + 0.12 * _smooth_noise(rng, u.shape, 0.15 / px_units)  # curving
    coords = [side, (phi + np.pi) / (2 * np.pi) * n_phi, np.minimum(r, 1.5) / 1.5 * n_r]
    val = ndimage.map_coordinates(field, coords, order=1, mode="grid-wrap").astype(np.float32)
    # Field units per chest unit across a vessel ≈ 1 / (r · 2π / n_phi): width in units → field.
    width = np.clip((0.004 + 0.02 * np.exp(-r / 0.4)) / (r * 2 * np.pi / n_phi + 1e-3), 0.05, 0.6)
    fade = 1.0 - np.exp(-((r / 0.12) ** 2))  # no star where the vessels converge
    hilum = 0.06 * np.exp(-(r**2) / (2 * 0.08**2))
    return np.exp(-((val / width) ** 2)) * (0.02 + 0.08 * np.exp(-r / 0.35)) * fade + hilum


def density(anat: pa.Anatomy, fnd: pa.Findings, u, v, fields, rng, px_units: float,
            extents: list | None = None) -> np.ndarray:
    """Projected density D on the low-res grid (u, v chest coordinates; ``mask_fields``).

    ``extents``, when given, receives (finding, bool low-res mask) per drawn finding: where
    it adds at least half its peak density (``_findings``).
    """
    shape = np.broadcast_shapes(u.shape, v.shape)
    med = fields["mediastanum"]
    lungs = [_inside(fields["right_lung"]), _inside(fields["left_lung"])]
    lung = lungs[0] + lungs[1]
    body = _inside(pa.body_f(anat, u, v), 0.03)
    au = np.abs(u - anat.mid_u)
    thorax = _inside(np.maximum(np.abs(u) - 1.12, np.maximum(-1.08 - v, v - 0.95)), 0.04)
    phase = rng.uniform(0, 2 * np.pi)
    spacing = 0.2 * anat.lung_h
    # Posterior ribs arc up from the spine and fall laterally; anterior ribs slope down medially.
    post = np.cos(2 * np.pi * (v + 0.12 * au - 0.42 * au**2) / spacing + phase)
    ant = np.cos(2 * np.pi * (v - 0.35 * au) / (1.1 * spacing) + phase + 1.0)
    ribs = np.clip((post - 0.45) / 0.55, 0, 1) + 0.5 * np.clip((ant - 0.6) / 0.4, 0, 1)
    ribs *= thorax * _inside(0.08 - au, 0.02)
    spine = _inside(au - 0.085, 0.01) * (0.8 + 0.2 * np.cos(2 * np.pi * v / 0.16))
    clav = sum(_inside(pa.clavicle_f(anat, u, v, s), 0.01) for s in (-1, 1))
    # Below the domes the abdomen is as dense as the heart: the heart's lower border merges.
    dome = np.where(u < 0, pa.diaphragm(anat, u, -1), pa.diaphragm(anat, u, +1))
    abdomen = _inside(np.minimum(dome, anat.dome[1] + 0.12) - v, 0.03) * body
    d = (0.75 * body - 0.58 * lung + 0.25 * np.maximum(_inside(med, 0.02), abdomen)
         + 0.05 * _inside(fields["aortic_knob"])
         - 0.30 * _inside(pa.trachea_f(anat, u, v), 0.015) * body
         + 0.10 * spine * body + rng.uniform(0.08, 0.14) * ribs + 0.16 * clav)
    # Lung markings: vessels radiating from the hila, tapering outward, over a faint
    # interstitial network. Mottle: broad soft-tissue variation between patients.
    hila = [(s * 0.3 * anat.lung_w[(s + 1) // 2] + anat.mid_u, -0.02) for s in (-1, 1)]
    near = sum(np.exp(-((u - hu) ** 2 + (v - hv) ** 2) / (2 * 0.45**2)) for hu, hv in hila)
    fine = np.exp(-((_smooth_noise(rng, shape, 0.02 / px_units) / 0.4) ** 2))
    marks = _vessels(rng, u, v, hila, px_units) + 0.015 * fine * (0.5 + near)
    if fnd.edema:  # vascular redistribution: markings stronger in the upper zones
        marks *= 1.0 + 0.8 * _inside(v + 0.3, 0.1)
    d += marks * lung
    d += rng.uniform(0.01, 0.03) * _smooth_noise(rng, shape, 0.12 / px_units) * body
    if anat.female:
        for s in (-1, 1):
            breast = np.sqrt(((u - s * 0.55) / 0.42) ** 2 + ((v - 0.85) / 0.32) ** 2) - 1
            d += rng.uniform(0.04, 0.09) * _inside(breast, 0.08)
    return d + _findings(anat, fnd, u, v, rng, px_units, lung, lungs, near, extents)


def _findings(anat, fnd, u, v, rng, px_units, lung, lungs, near, extents=None) -> np.ndarray:
    """Finding densities; each finding's extent (half its peak, inside the lung) goes to
    ``extents``. Recording draws no random numbers, so the image is the same either way."""
    d = np.zeros(np.broadcast_shapes(u.shape, v.shape), dtype=np.float32)
    out = [] if extents is None else extents
    for cu, cv, r, strength in fnd.consolidations:
        blob = np.zeros_like(d)
        for _ in range(int(rng.integers(3, 6))):
            ou, ov = rng.normal(0, 0.5 * r, 2)
            s = r * rng.uniform(0.45, 0.75)
            blob += np.exp(-((u - cu - ou) ** 2 + (v - cv - ov) ** 2) / (2 * s * s))
        blob /= max(float(blob.max()), 1e-6)
        texture = 0.75 + 0.25 * _smooth_noise(rng, d.shape, 0.03 / px_units)
        d += strength * np.clip(blob * texture, 0, 1) * lung
        out.append(("consolidation", (blob >= 0.5) & (lung >= 0.5)))
    if fnd.edema:
        d += fnd.edema * np.clip(near, 0, 1) * lung
        out.extend(("edema", (near >= 0.5) & (side >= 0.5)) for side in lungs)
    for k, (side, h) in enumerate(zip((-1, 1), fnd.effusion)):
        if h <= 0:
            continue
        w = anat.lung_w[k]
        lateral = np.clip(side * u / w, 0, 1)
        top = pa.diaphragm(anat, u, side) - h * (0.5 + 0.9 * lateral)
        region = _inside(0.05 - side * u, 0.02) * _inside(np.abs(side * u - 0.52 * w) - 0.5 * w, 0.03)
        fluid = 0.45 * _inside(top - v, 0.03) * _inside(v - pa.diaphragm(anat, u, side) - 0.05, 0.03) \
            * region * (0.3 + 0.7 * lungs[k])
        d += fluid
        if fluid.max() > 0:
            out.append(("effusion", fluid >= 0.5 * float(fluid.max())))
    return d


def exposure(rng) -> dict:
    """Per-image acquisition: attenuation k, gamma, 12-bit gain/offset, noise, window jitter."""
    return {"k": rng.uniform(1.4, 2.1), "gamma": rng.uniform(0.85, 1.2),
            "offset": rng.uniform(60, 400), "gain": rng.uniform(3000, 3600),
            "noise": rng.uniform(0.006, 0.014), "window": rng.uniform(-0.03, 0.03, 2)}


def render(anat, fnd, shape, rng, extents: list | None = None
           ) -> tuple[np.ndarray, dict, tuple[float, float], dict]:
    """The full image and its geometry; ``extents`` as for ``density``.

    Returns:
        pixels uint16 (H, W) in [0, 4095]; masks {stem: bool (H, W)}; window (center, width);
        bounding boxes {name: (x1, x2, y1, y2)} in image pixels.
    """
    H, W = shape
    x, y, low = low_res_grid(shape)
    u, v = pa.chest_coords(anat, x, y)
    px_units = (H / low[0]) / anat.unit
    ex = exposure(rng)
    fields = pa.mask_fields(anat, u, v)
    d = density(anat, fnd, u, v, fields, rng, px_units, extents)
    intensity = 1 - np.exp(-ex["k"] * np.clip(d, 0, None))
    intensity = intensity.astype(np.float32) ** np.float32(ex["gamma"])
    full = upsample(intensity, shape)
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise *= np.float32(ex["noise"])
    full += noise
    full *= np.float32(ex["gain"])
    full += np.float32(ex["offset"])
    np.clip(full, 0, 4095, out=full)
    pixels = np.rint(full, out=full).astype(np.uint16)
    lo, hi = np.percentile(intensity, [0.5, 99.5])
    lo, hi = lo - 0.03 + ex["window"][0], hi + 0.03 + ex["window"][1]
    window = (float(round(ex["offset"] + ex["gain"] * (lo + hi) / 2)),
              float(round(ex["gain"] * (hi - lo))))
    masks = {k: upsample_sign(f, shape) for k, f in fields.items()}
    return pixels, masks, window, boxes(anat, fields, u, v, shape)


def box_of(mask: np.ndarray, shape) -> tuple[float, float, float, float] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    sy, sx = shape[0] / mask.shape[0], shape[1] / mask.shape[1]
    return (cols[0] * sx, (cols[-1] + 1) * sx, rows[0] * sy, (rows[-1] + 1) * sy)


def _box_around(anat, u, v, du, dv, shape):
    xs, ys = pa.image_coords(anat, [u - du, u + du, u - du, u + du], [v - dv, v - dv, v + dv, v + dv])
    H, W = shape
    return (float(np.clip(xs.min(), 0, W)), float(np.clip(xs.max(), 0, W)),
            float(np.clip(ys.min(), 0, H)), float(np.clip(ys.max(), 0, H)))


def boxes(anat, fields, u, v, shape) -> dict[str, tuple[float, float, float, float]]:
    """The 17 EGD-CXR boxes (x1, x2, y1, y2) from the low-res level sets and landmarks."""
    out = {}
    heart = np.maximum(pa.heart_f(anat, u, v), v - anat.dome[1] - 0.12) < 0
    regions = {"cardiac silhouette": heart, "trachea": pa.trachea_f(anat, u, v) < 0,
               "upper mediastinum": pa.band_f(anat, u, v) < 0}
    for side, name in ((+1, "left"), (-1, "right")):
        lung = fields[f"{name}_lung"] < 0
        regions[f"{name} lung"] = lung
        regions[f"{name} clavicle"] = pa.clavicle_f(anat, u, v, side) < 0
        rows = np.flatnonzero(lung.any(axis=1))
        if len(rows):
            cuts = np.linspace(rows[0], rows[-1] + 1, 4).round().astype(int)
            for zone, a, b in zip(("upper", "mid", "lower"), cuts[:-1], cuts[1:]):
                band = np.zeros_like(lung)
                band[a:b] = lung[a:b]
                regions[f"{name} {zone} lung zone"] = band
        w = anat.lung_w[(side + 1) // 2]
        out[f"{name} hilar structures"] = _box_around(anat, side * 0.3 * w + anat.mid_u, -0.02,
                                                      0.12, 0.15, shape)
        out[f"{name} costophrenic angle"] = _box_around(anat, side * 0.93 * w,
                                                        pa.diaphragm(anat, side * 0.93 * w, side) - 0.03,
                                                        0.11, 0.11, shape)
    for name, mask in regions.items():
        box = box_of(mask, shape)
        out[name] = box if box is not None else _box_around(anat, 0.0, 0.0, 0.01, 0.01, shape)
    fallback = _box_around(anat, 0.0, 0.0, 0.01, 0.01, shape)
    return {name: out.get(name, fallback) for name in BBOX_NAMES}
