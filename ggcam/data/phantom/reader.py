"""A simulated radiologist for the phantom: fixations and ~60 Hz raw samples on one screen.

The reader looks at the centre, scans both lungs zone by zone, the hila, the heart, the
mediastinum and the costophrenic angles, then dwells on the findings (consolidations for
pneumonia; heart borders, hila and bases for CHF) and re-checks a few places. Positions are
simulated in image pixels, turned into screen fractions FPOGX/FPOGY with the release's own
display geometry, and X/Y_ORIGINAL are then derived from FPOGX/FPOGY by the release's formula
(``layout.screen_to_image``), so both coordinate systems agree as in the real files. A few
glances land in the screen's pads, off the image: their X/Y_ORIGINAL are the negative sentinel.

Tables are returned as dicts of numpy columns (named as in ``layout.GAZE_COLUMNS``) whose
counters are relative to the screen: ``CNT`` (sample index), ``FPOGID`` (fixation index) and
``Time (in secs)``; the session offsets are added when the files are written.
"""

from __future__ import annotations

import numpy as np

from ggcam.data.layout import SCREEN_H, SCREEN_W, image_to_screen, screen_pads, screen_to_image
from ggcam.data.phantom import anatomy as pa

RATE = 60.0  # Hz, Gazepoint GP3
INFORMATIVENESS = 0.6  # default share of the free fixations aimed at findings
DECIMALS = 5  # FPOGX/FPOGY are rounded before X/Y_ORIGINAL are derived, as written


def _targets(anat: pa.Anatomy, fnd: pa.Findings) -> tuple[list, list]:
    """Scan targets and finding targets as (u, v, spread, weight), chest units."""
    wr, wl = anat.lung_w
    hu, hv, a, b, _ = anat.heart
    ex = anat.ctr * (wr + wl) / 2
    scan = [(-0.5 * wr, -0.6), (-0.55 * wr, -0.1), (-0.6 * wr, 0.4),
            (0.5 * wl, -0.6), (0.55 * wl, -0.1), (0.65 * wl, 0.4),
            (-0.3 * wr, -0.02), (0.3 * wl, -0.02), (hu, hv), (anat.mid_u, -0.6),
            (-0.9 * wr, anat.dome[0] + 0.12), (0.9 * wl, anat.dome[1] + 0.12)]
    scan = [(u, v, 0.07, 1.0) for u, v in scan]
    find = [(u, v, 0.5 * r, s * r) for u, v, r, s in fnd.consolidations]
    if fnd.edema or fnd.effusion != (0.0, 0.0) or anat.ctr > 0.5:
        find += [(hu + 0.9 * ex - 0.1, hv + 0.05, 0.05, 1.0), (hu - ex + 0.12, hv, 0.05, 0.6)]
    if fnd.edema:
        find += [(-0.3 * wr, -0.02, 0.08, fnd.edema * 6), (0.3 * wl, -0.02, 0.08, fnd.edema * 6)]
    for (u, v, *_), h in zip(scan[10:], fnd.effusion):
        if h:
            find.append((u, v - 0.05, 0.06, 4 * h))
    return scan, find


def _fixation_plan(rng, anat, fnd, informativeness: float = INFORMATIVENESS
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixation targets (n, 2) in (u, v), spreads (n,), and a finding flag (n,).

    After the systematic scan, ``informativeness`` of the remaining (free) fixations aim at
    the findings, the rest re-check scan targets; an image without findings re-checks only.
    """
    n_total = int(np.clip(round(rng.lognormal(np.log(42.0), 0.35)), 12, 140))
    scan, find = _targets(anat, fnd)
    order = rng.permutation(len(scan)) if rng.random() < 0.3 else np.arange(len(scan))
    plan = [((0.0, 0.1), 0.15, False)]
    for k in order:
        u, v, s, _ = scan[k]
        plan += [((u, v), s, False)] * (1 + rng.poisson(0.6))
    rest = max(n_total - len(plan), 0)
    extra = []
    if find:
        w = np.array([t[3] for t in find])
        for k in rng.choice(len(find), size=int(round(informativeness * rest)), p=w / w.sum()):
            u, v, s, _ = find[k]
            extra.append(((u, v), s, True))
    for k in rng.integers(len(scan), size=rest - len(extra)):
        u, v, s, _ = scan[k]
        extra.append(((u, v), s, False))
    plan = (plan + [extra[k] for k in rng.permutation(len(extra))])[:n_total]
    uv = np.array([p[0] for p in plan], dtype=np.float64)
    return uv, np.array([p[1] for p in plan]), np.array([p[2] for p in plan])


def _off_image(rng, shape, n) -> np.ndarray:
    """n screen points (fractions) in the pads beside or above/below the image."""
    top, bottom, left, right = screen_pads(shape)
    pts = []
    for _ in range(n):
        if left > 8 and (top <= 8 or rng.random() < 0.7):
            ex = rng.uniform(2, left - 2) if rng.random() < 0.5 else rng.uniform(SCREEN_W - right + 2, SCREEN_W - 2)
            ey = rng.uniform(top + 40, SCREEN_H - bottom - 40)
        else:
            ex = rng.uniform(left + 40, SCREEN_W - right - 40)
            ey = rng.uniform(1, top - 1) if top > 2 else rng.uniform(SCREEN_H - bottom + 1, SCREEN_H - 1)
        pts.append((ex / SCREEN_W, ey / SCREEN_H))
    return np.array(pts).reshape(-1, 2)


def _columns(rng, pos, shape, n) -> dict[str, np.ndarray]:
    """Pupil, blink and best-gaze fields: plausible values, unused by GG-CAM."""
    def around(mean, sd):
        return np.round(mean + rng.normal(0, sd, n), DECIMALS)

    return {"BPOGX": np.round(pos[:, 0] + rng.normal(0, 0.002, n), DECIMALS),
            "BPOGY": np.round(pos[:, 1] + rng.normal(0, 0.003, n), DECIMALS),
            "BPOGV": np.ones(n, np.int64), "LPCX": around(0.40, 0.004), "LPCY": around(0.55, 0.004),
            "LPD": around(24.0, 0.5), "LPS": around(1.0, 0.01), "LPV": np.ones(n, np.int64),
            "RPCX": around(0.62, 0.004), "RPCY": around(0.55, 0.004), "RPD": around(24.5, 0.5),
            "RPS": around(1.0, 0.01), "RPV": np.ones(n, np.int64), "BKID": np.zeros(n, np.int64),
            "BKDUR": np.zeros(n), "BKPMIN": np.full(n, int(rng.integers(6, 24))),
            "LPMM": around(3.6, 0.08), "LPMMV": np.ones(n, np.int64), "RPMM": around(3.7, 0.08),
            "RPMMV": np.ones(n, np.int64), "VID_FRAME": np.zeros(n, np.int64)}


def _tables(rng, pos, durations, shape, t0) -> tuple[dict, dict]:
    """Fixation rows and raw rows for fixations at screen fractions ``pos`` (n, 2)."""
    pos = np.round(pos, DECIMALS)
    n = len(pos)
    gaps = rng.uniform(0.02, 0.08, n)
    starts = np.round(t0 + np.concatenate([[0.0], np.cumsum(durations[:-1] + gaps[:-1])]), DECIMALS)
    durations = np.round(durations, DECIMALS)
    ends = starts + durations
    # Raw samples at RATE from the screen's appearance to the end of the last fixation.
    t = (np.arange(int(ends[-1] * RATE) + 1) + rng.uniform(0, 1)) / RATE
    k = np.searchsorted(starts, t, side="right") - 1
    fixating = (k >= 0) & (t < ends[np.maximum(k, 0)])
    prev = np.where(k >= 0, k, 0)
    nxt = np.minimum(k + 1, n - 1)
    src = np.where(k[:, None] >= 0, pos[prev], 0.5)
    frac = np.clip((t - np.where(k >= 0, ends[prev], 0.0))
                   / np.maximum(starts[nxt] - np.where(k >= 0, ends[prev], 0.0), 1e-3), 0, 1)
    raw_pos = np.where(fixating[:, None], pos[prev], src + (pos[nxt] - src) * frac[:, None])
    raw_pos = np.round(raw_pos + rng.normal(0, 1, raw_pos.shape) * [0.0025, 0.0045], DECIMALS)
    d = np.diff(np.vstack([[0.5, 0.5], pos]), axis=0) * [SCREEN_W, SCREEN_H]
    mag, ang = np.hypot(d[:, 0], d[:, 1]), np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 360

    def table(p, time, cnt, fs, fd, fid, valid, sm, sd):
        xo, yo = screen_to_image(p[:, 0], p[:, 1], shape, sentinel_floor=True)
        out = {"CNT": cnt, "Time (in secs)": time, "FPOGX": p[:, 0], "FPOGY": p[:, 1],
               "FPOGS": fs, "FPOGD": fd, "FPOGID": fid, "FPOGV": valid.astype(np.int64),
               "SACCADE_MAG": np.round(sm, DECIMALS), "SACCADE_DIR": np.round(sd, DECIMALS),
               "X_ORIGINAL": xo, "Y_ORIGINAL": yo}
        out.update(_columns(rng, p, shape, len(p)))
        return out

    cnt_end = np.searchsorted(t, ends, side="right") - 1
    fix = table(pos, starts + durations, np.maximum(cnt_end, 0), starts, durations,
                np.arange(n), np.ones(n, bool), mag, ang)
    fs = np.where(k >= 0, starts[prev], 0.0)
    fd = np.round(np.where(fixating, t - fs, np.where(k >= 0, durations[prev], 0.0)), DECIMALS)
    raw = table(raw_pos, np.round(t, DECIMALS), np.arange(len(t)), fs, fd, np.maximum(k, 0),
                fixating, mag[prev], ang[prev])
    return fix, raw


def read_image(rng, anat: pa.Anatomy, fnd: pa.Findings, shape, informativeness=None
               ) -> tuple[dict, dict]:
    """One reading of an (H, W) image: (fixation table, raw-sample table).

    ``informativeness``: share of the free fixations aimed at findings, in [0, 1]; None is
    ``INFORMATIVENESS`` (0.6).
    """
    share = INFORMATIVENESS if informativeness is None else float(informativeness)
    uv, spread, on_finding = _fixation_plan(rng, anat, fnd, share)
    bias = rng.normal(0, 0.01, 2)  # this session's calibration error, chest units
    uv = uv + bias + rng.normal(0, 1, uv.shape) * spread[:, None]
    x, y = pa.image_coords(anat, uv[:, 0], uv[:, 1])
    pos = np.stack(image_to_screen(x, y, shape), axis=1)
    n_off = int(rng.choice([0, 0, 1, 1, 2]))
    if n_off:  # glances off the image, into the screen pads
        where = rng.choice(np.arange(1, len(pos)), size=min(n_off, len(pos) - 1), replace=False)
        pos[where] = _off_image(rng, shape, len(where))
    durations = np.clip(rng.lognormal(np.log(0.30), 0.4, len(pos)), 0.1, 1.4)
    durations[on_finding] = np.clip(durations[on_finding] * 1.4, 0.1, 1.6)
    return _tables(rng, pos, durations, shape, t0=rng.uniform(0.15, 0.35))


def calibrate(rng, shape) -> tuple[dict, dict]:
    """A calibration screen: fixations on a 3×3 grid of screen targets."""
    grid = np.array([(x, y) for y in (0.1, 0.5, 0.9) for x in (0.1, 0.5, 0.9)])
    pos = grid[rng.permutation(9)] + rng.normal(0, 0.004, (9, 2))
    return _tables(rng, pos, rng.uniform(0.4, 0.9, 9), shape, t0=rng.uniform(0.3, 0.6))
