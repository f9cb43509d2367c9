"""Algorithm 1: the visual heat map Ψ (``ggcam.gaze``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.special import ndtr

from ggcam import gaze_heatmap, grid_geometry, reference_heatmap, sigma_from_kernel_size

# --- the kernel-size rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    "B, sigma",
    [(3, 0.8), (4, 1.1), (5, 1.1), (7, 1.4), (21, 3.5), (500, 75.5), (501, 75.5), (101, 15.5)],
)
def test_sigma_from_kernel_size_is_opencvs_rule(B, sigma):
    # σ = 0.3((B − 1)/2 − 1) + 0.8, an even B made odd first (B=500 → 501 → 75.5 px).
    assert sigma_from_kernel_size(B) == pytest.approx(sigma, abs=1e-12)


def test_kernel_size_500_is_sigma_75_5_in_the_heat_map():
    rng = np.random.default_rng(0)
    xy = np.c_[rng.uniform(0, 2544, 50), rng.uniform(0, 3056, 50)]
    a = gaze_heatmap(xy, (3056, 2544), (48, 40), kernel_size=500)
    b = gaze_heatmap(xy, (3056, 2544), (48, 40), sigma=75.5)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


@pytest.mark.parametrize("B", [2.5, 1, 0, -5, True])
def test_bad_kernel_size(B):
    with pytest.raises(ValueError, match=re.escape(repr(B))):
        sigma_from_kernel_size(B)
    with pytest.raises(ValueError, match=re.escape(repr(B))):
        gaze_heatmap(np.zeros((1, 2)), (10, 10), (2, 2), kernel_size=B)


# --- equivalence with the literal Algorithm 1 --------------------------------------------

# (H0, W0, h, w, σ): odd and non-square images, grids that do not divide them (centred
# padding), a landscape image on a portrait grid. The fast path integrates a continuous
# Gaussian, the literal one samples it: they differ by O(1/σ²) (≈2e-4 at σ = 10, 1e-5 at
# σ = 60, ≈1e-6 at the paper's 75.5), so these σ keep the 1e-4 bound meaningful.
AREA_CASES = [
    (211, 173, 7, 6, 30.0),
    (150, 260, 5, 9, 35.0),
    (257, 199, 8, 8, 40.0),
    (120, 120, 4, 4, 32.0),
    (301, 97, 11, 3, 45.0),
    (160, 240, 6, 5, 50.0),
]


def _points(rng, H0, W0, M=25):
    """Random points, some outside the image, plus points on each border and in the corners."""
    xy = np.c_[rng.uniform(-8, W0 + 8, M), rng.uniform(-8, H0 + 8, M)]
    border = [[0, 0], [W0 - 1e-6, H0 - 1e-6], [0.2, H0 / 2], [W0 - 0.5, 3.3], [W0 / 3, 0.0],
              [W0 / 2, H0 - 0.7]]
    return np.vstack([xy, border])


def _outside(xy, H0, W0):
    return int(((xy[:, 0] < 0) | (xy[:, 0] >= W0) | (xy[:, 1] < 0) | (xy[:, 1] >= H0)).sum())


@pytest.mark.parametrize("case", range(len(AREA_CASES)))
def test_area_matches_the_literal_algorithm(case):
    H0, W0, h, w, sigma = AREA_CASES[case]
    rng = np.random.default_rng(case)
    xy = _points(rng, H0, W0)
    weights = rng.uniform(0, 3, len(xy))
    fast, dropped = gaze_heatmap(xy, (H0, W0), (h, w), sigma=sigma, weights=weights,
                                 return_dropped=True)
    slow = reference_heatmap(xy, (H0, W0), (h, w), sigma=sigma, weights=weights)
    assert dropped == _outside(xy, H0, W0) > 0
    assert fast.shape == slow.shape == (h, w)
    assert np.abs(fast - slow).max() <= 1e-4
    # Unweighted, and normalised to sum 1 (compared relative to the peak).
    fast = gaze_heatmap(xy, (H0, W0), (h, w), sigma=sigma, normalize="sum")
    slow = reference_heatmap(xy, (H0, W0), (h, w), sigma=sigma, normalize="sum")
    assert np.abs(fast - slow).max() <= 1e-4 * slow.max()


# (H0, W0, h, w, sigma, kernel_size): the kernel radius must stay below the image side.
STRIDE_CASES = [
    (211, 173, 7, 6, None, 41),
    (150, 260, 5, 9, None, 60),  # even B: made odd, radius 30
    (97, 83, 7, 6, 5.0, None),  # radius round(4σ) = 20
    (257, 199, 8, 8, None, 101),
    (64, 64, 8, 8, 2.5, None),
]


@pytest.mark.parametrize("case", range(len(STRIDE_CASES)))
def test_stride_matches_the_released_codes_literal_version(case):
    H0, W0, h, w, sigma, B = STRIDE_CASES[case]
    rng = np.random.default_rng(100 + case)
    # Includes points on the first and last pixel, where reflect-101 maps a point onto itself.
    xy = np.vstack([_points(rng, H0, W0), [[0, 0], [W0 - 0.5, H0 - 0.5], [0, H0 - 1]]])
    weights = rng.uniform(0, 2, len(xy))
    kw = dict(sigma=sigma, kernel_size=B, weights=weights, resample="stride")
    fast = gaze_heatmap(xy, (H0, W0), (h, w), **kw)
    slow = reference_heatmap(xy, (H0, W0), (h, w), **kw)
    assert fast.max() == 1.0
    assert np.abs(fast - slow).max() <= 1e-6


def test_stride_samples_every_cth_pixel_of_the_centred_canvas():
    # One point, σ given, no truncation issue: the stride map is the blurred image read at
    # canvas pixels (i·c, j·c), i.e. image pixels (i·c − top, j·c − left).
    H0, W0, h, w, s = 50, 37, 5, 4, 4.0
    g = grid_geometry((H0, W0), (h, w))  # c = 10, top = 0, left = 1
    assert (g.cell, g.top, g.left) == (10, 0, 1)
    px, py = 19, 22
    psi = gaze_heatmap(np.array([[px + 0.3, py + 0.9]]), (H0, W0), (h, w), sigma=s,
                       resample="stride", normalize=None)
    r = int(round(4 * s))
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * s * s))
    k /= k.sum()

    def factor(pos, p):
        return k[pos - p + r] if abs(pos - p) <= r else 0.0

    want = np.array([[factor(i * 10 - g.top, py) * factor(j * 10 - g.left, px) for j in range(w)]
                     for i in range(h)])
    np.testing.assert_allclose(psi, want, rtol=1e-6, atol=1e-9)


def test_stride_rejects_a_kernel_wider_than_the_image():
    with pytest.raises(ValueError, match="radius"):
        gaze_heatmap(np.array([[5.0, 5.0]]), (40, 40), (4, 4), kernel_size=101, resample="stride")


def test_real_size_fast_path():
    # The paper's sizes: 3056×2544 image, 48×40 grid, B = 500.
    rng = np.random.default_rng(1)
    xy = np.c_[rng.normal(1272, 300, 1400), rng.normal(1528, 400, 1400)]
    psi, dropped = gaze_heatmap(xy, (3056, 2544), (48, 40), kernel_size=500, return_dropped=True)
    assert psi.shape == (48, 40) and psi.dtype == np.float32
    assert psi.max() == 1.0 and psi.min() >= 0
    assert dropped == _outside(xy, 3056, 2544)
    # One point: its peak is in its own cell.
    one = gaze_heatmap(np.array([[2000.0, 700.0]]), (3056, 2544), (48, 40), kernel_size=500)
    assert np.unravel_index(one.argmax(), one.shape) == ((700 + 8) // 64, (2000 + 8) // 64)


# --- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("resample", ["area", "stride"])
def test_single_point_peaks_at_row_y_column_x(resample):
    H0, W0, h, w = 290, 195, 15, 10  # c = 20, top = 5, left = 2
    g = grid_geometry((H0, W0), (h, w))
    assert (g.cell, g.top, g.left) == (20, 5, 2)
    # The centre of cell (2, 6) is canvas (40, 120), image (35, 118) (receptive-field
    # alignment); the released stride sampling looks at the same pixel.
    x, y = 6 * 20 - 2 + 0.5, 2 * 20 - 5 + 0.5
    kw = dict(sigma=4.0, resample=resample)
    psi = gaze_heatmap(np.array([[x, y]]), (H0, W0), (h, w), **kw)
    assert np.unravel_index(psi.argmax(), psi.shape) == (2, 6)
    assert tuple(g.cell_of(np.array([[x, y]]))[0]) == (2, 6)
    # Swapping x and y moves the peak (the map is not transposed).
    psi_t = gaze_heatmap(np.array([[y, x]]), (H0, W0), (h, w), **kw)
    assert np.unravel_index(psi_t.argmax(), psi_t.shape) != (2, 6)


@pytest.mark.parametrize("resample", ["area", "stride"])
def test_output_range_dtype_and_normalisation(resample):
    rng = np.random.default_rng(3)
    xy = np.c_[rng.uniform(0, 300, 60), rng.uniform(0, 200, 60)]
    psi = gaze_heatmap(xy, (200, 300), (10, 15), sigma=12.0, resample=resample)
    assert psi.dtype == np.float32 and psi.shape == (10, 15)
    assert psi.min() >= 0 and psi.max() == 1.0
    total = gaze_heatmap(xy, (200, 300), (10, 15), sigma=12.0, resample=resample, normalize="sum")
    assert total.dtype == np.float32 and total.min() >= 0
    assert float(total.astype(np.float64).sum()) == pytest.approx(1.0, abs=1e-6)
    raw = gaze_heatmap(xy, (200, 300), (10, 15), sigma=12.0, resample=resample, normalize=None)
    np.testing.assert_allclose(psi, raw / raw.max(), rtol=1e-6)
    np.testing.assert_allclose(total, raw / raw.astype(np.float64).sum(), rtol=1e-5)


def test_area_map_keeps_the_mass_of_interior_points():
    # normalize=None: each cell holds the mean of the blurred image, so Σ Ψ · c² is the mass.
    H0, W0, h, w = 200, 200, 10, 10
    xy = np.array([[100.0, 100.0], [80.5, 120.25], [110.0, 90.0]])
    wts = np.array([0.5, 2.0, 1.0])
    psi = gaze_heatmap(xy, (H0, W0), (h, w), sigma=5.0, weights=wts, normalize=None)
    assert float(psi.astype(np.float64).sum()) * 20 * 20 == pytest.approx(3.5, rel=1e-6)


def test_zero_boundary_loses_the_mass_outside_the_image():
    H0, W0, h, w, s = 200, 200, 10, 10, 20.0
    centre = gaze_heatmap(np.array([[100.0, 100.0]]), (H0, W0), (h, w), sigma=s, normalize=None)
    corner = gaze_heatmap(np.array([[0.0, 0.0]]), (H0, W0), (h, w), sigma=s, normalize=None)
    m_centre = float(centre.astype(np.float64).sum()) * 400
    m_corner = float(corner.astype(np.float64).sum()) * 400
    assert m_centre == pytest.approx(1.0, abs=1e-5)  # 5σ from every edge
    # Pixel (0, 0) has its mass at (0.5, 0.5): what stays is Φ(0.5/σ)² ≈ 0.26, about a quarter.
    frac = ndtr((H0 - 0.5) / s) - ndtr(-0.5 / s)
    assert m_corner == pytest.approx(frac**2, rel=1e-5)
    assert 0.25 < m_corner / m_centre < 0.27
    # The literal algorithm (zero-padded blur) loses the same mass.
    ref = reference_heatmap(np.array([[0.0, 0.0]]), (H0, W0), (h, w), sigma=s, normalize=None)
    assert float(ref.astype(np.float64).sum()) * 400 == pytest.approx(m_corner, rel=1e-3)


@pytest.mark.parametrize("resample", ["area", "stride"])
def test_map_is_linear_in_the_weights(resample):
    rng = np.random.default_rng(4)
    xy = np.c_[rng.uniform(0, 150, 20), rng.uniform(0, 120, 20)]
    w1, w2 = rng.uniform(0, 1, 20), rng.uniform(0, 1, 20)
    kw = dict(sigma=9.0, resample=resample, normalize=None)

    def psi(wts):
        return gaze_heatmap(xy, (120, 150), (6, 5), weights=wts, **kw).astype(np.float64)

    np.testing.assert_allclose(psi(w1 + w2), psi(w1) + psi(w2), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(psi(3 * w1), 3 * psi(w1), rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(psi(None), psi(np.ones(20)), rtol=1e-6)
    # A point given twice counts like one point with weight 2.
    twice = gaze_heatmap(np.vstack([xy[:1], xy[:1]]), (120, 150), (6, 5), **kw)
    once = gaze_heatmap(xy[:1], (120, 150), (6, 5), weights=[2.0], **kw)
    np.testing.assert_allclose(twice, once, rtol=1e-6)
    # "max" normalisation makes the map independent of the overall scale.
    np.testing.assert_allclose(
        gaze_heatmap(xy, (120, 150), (6, 5), weights=5 * w1, sigma=9.0, resample=resample),
        gaze_heatmap(xy, (120, 150), (6, 5), weights=w1, sigma=9.0, resample=resample),
        rtol=1e-6,
    )


# --- points outside the image, and no valid point -----------------------------------------


def test_points_outside_are_dropped_and_counted():
    H0, W0 = 100, 80
    inside = np.array([[10.0, 20.0], [79.9, 99.9], [0.0, 0.0]])
    outside = np.array([[80.0, 5.0], [5.0, 100.0], [-0.01, 50.0], [40.0, -3.0], [1e6, 1e6]])
    xy = np.vstack([outside[:2], inside, outside[2:]])
    psi, dropped = gaze_heatmap(xy, (H0, W0), (5, 4), sigma=6.0, return_dropped=True)
    assert dropped == 5
    np.testing.assert_array_equal(psi, gaze_heatmap(inside, (H0, W0), (5, 4), sigma=6.0))
    _, none = gaze_heatmap(inside, (H0, W0), (5, 4), sigma=6.0, return_dropped=True)
    assert none == 0


@pytest.mark.parametrize("resample", ["area", "stride"])
@pytest.mark.parametrize("normalize", ["max", "sum", None])
@pytest.mark.parametrize(
    "xy, weights",
    [(np.zeros((0, 2)), None), (np.array([[-5.0, 3.0], [3.0, 500.0]]), None),
     (np.array([[5.0, 5.0], [20.0, 30.0]]), [0.0, 0.0])],
    ids=["empty", "all-outside", "zero-weights"],
)
def test_no_valid_point_gives_zeros_not_nan(xy, weights, resample, normalize):
    kw = dict(sigma=3.0, weights=weights, resample=resample, normalize=normalize)
    psi, dropped = gaze_heatmap(xy, (40, 50), (4, 5), return_dropped=True, **kw)
    assert psi.shape == (4, 5) and psi.dtype == np.float32
    assert np.all(psi == 0)
    assert dropped == (2 if len(xy) and weights is None else 0)
    assert np.all(reference_heatmap(xy, (40, 50), (4, 5), **kw) == 0)


# --- bad input ----------------------------------------------------------------------------

GOOD = dict(image_shape=(40, 50), out_shape=(4, 5))


@pytest.mark.parametrize(
    "xy, kwargs, needle",
    [
        (np.array([[1.0, np.nan]]), dict(sigma=2.0), "nan"),
        (np.array([[1.0, 2.0], [np.inf, 3.0]]), dict(sigma=2.0), "inf"),
        (np.zeros((5, 3)), dict(sigma=2.0), "(5, 3)"),
        (np.zeros(4), dict(sigma=2.0), "(4,)"),
        (np.zeros((2, 2)), dict(sigma=0.0), "0.0"),
        (np.zeros((2, 2)), dict(sigma=-2.5), "-2.5"),
        (np.zeros((2, 2)), dict(sigma=float("nan")), "nan"),
        (np.zeros((2, 2)), dict(sigma=float("inf")), "inf"),
        (np.zeros((2, 2)), dict(sigma="3"), "'3'"),
        (np.zeros((2, 2)), dict(sigma=3.0, kernel_size=5), "sigma=3.0, kernel_size=5"),
        (np.zeros((2, 2)), dict(), "sigma=None, kernel_size=None"),
        (np.zeros((2, 2)), dict(sigma=2.0, resample="bilinear"), "'bilinear'"),
        (np.zeros((2, 2)), dict(sigma=2.0, normalize="l2"), "'l2'"),
        (np.zeros((2, 2)), dict(sigma=2.0, weights=[1.0, 2.0, 3.0]), "(3,)"),
        (np.zeros((2, 2)), dict(sigma=2.0, weights=[1.0, -1.0]), "-1.0"),
        (np.zeros((2, 2)), dict(sigma=2.0, weights=[1.0, np.nan]), "finite"),
        (np.zeros((2, 2)), dict(sigma=2.0, image_shape=(0, 50)), "(0, 50)"),
        (np.zeros((2, 2)), dict(sigma=2.0, out_shape=(4,)), "(4,)"),
        (np.zeros((2, 2)), dict(sigma=2.0, out_shape=(4, 2.5)), "(4, 2.5)"),
    ],
)
def test_bad_input_names_the_value(xy, kwargs, needle):
    kw = {**GOOD, **kwargs}
    with pytest.raises(ValueError, match=re.escape(needle)):
        gaze_heatmap(xy, **kw)
    with pytest.raises(ValueError, match=re.escape(needle)):
        reference_heatmap(xy, **kw)


def test_block_alignment_is_half_a_cell_off():
    """The earlier rule (cells [c·i, c·(i+1))) is kept as an option; a point at a receptive-
    field centre lies on the corner of four block cells."""
    H0, W0, h, w = 290, 195, 15, 10  # c = 20, top = 5, left = 2
    x, y = 6 * 20 - 2 + 0.5, 2 * 20 - 5 + 0.5  # canvas (40, 120): centre of rf cell (2, 6)
    rf = gaze_heatmap(np.array([[x, y]]), (H0, W0), (h, w), sigma=2.0, normalize="sum")
    block = gaze_heatmap(np.array([[x, y]]), (H0, W0), (h, w), sigma=8.0, normalize="sum",
                         align="block")
    assert rf[2, 6] > 0.9
    np.testing.assert_allclose(block[1:3, 5:7], 0.25, atol=0.03)  # four cells share it
    g = grid_geometry((H0, W0), (h, w), align="block")
    assert tuple(g.cell_of(np.array([[x + 10, y + 10]]))[0]) == (2, 6)


def test_the_released_stride_sampling_has_no_block_alignment():
    xy = np.array([[100.0, 120.0]])
    gaze_heatmap(xy, (256, 256), (4, 4), sigma=10.0, resample="stride")  # the released rule
    with pytest.raises(ValueError, match=r"resample='stride'.*no align='block' form"):
        gaze_heatmap(xy, (256, 256), (4, 4), sigma=10.0, resample="stride", align="block")
