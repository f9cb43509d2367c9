"""Pages 01 and 08: the method in one figure, the released code's behaviours and whether the
legacy arm reproduces them, the paper against the released code."""

from __future__ import annotations

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from ggcam.viz.style import STYLE, figure


def method_figure() -> Figure:
    """GG-CAM in one picture, drawn for a narrow column (4.6 in wide, so its text stays
    readable on a phone): the classifier with its CAM layer on the left, the gaze heat map Ψ
    (used only while training) on the right, the paper's equation numbers on every box."""
    left, right = 0.27, 0.7
    boxes = {  # name: (x, y, text, kind); axes coordinates of the centres
        "x": (left, 0.94, "chest X-ray $I$\n$H_0 \\times W_0$ pixels", "net"),
        "A": (left, 0.79, "CNN backbone\nfeatures $A$, $G \\times h \\times w$", "net"),
        "cam": (left, 0.64, "CAM layer (eq. 4)\n$\\Omega_c = \\Sigma_k\\,\\Lambda_{ck} A_k$", "net"),
        "y": (left, 0.46, "logits (eq. 5–6)\n$y_c = \\bar{\\Omega}^c + \\lambda_c$", "net"),
        "ce": (left, 0.28, "cross-entropy\n$\\mathcal{L}_{ce}$ (eq. 7)", "loss"),
        "gaze": (right, 0.94, "radiologist's\ngaze $E_{1:M}$", "gaze"),
        "psi": (right, 0.79, "Algorithm 1\nheat map $\\Psi$", "gaze"),
        "sig": (right, 0.55, "true class $Y$ (eq. 10)\n$\\mathrm{sigmoid}(\\alpha\\Omega^Y)$", "net"),
        "sm": (right, 0.28, "selective MSE\n$\\mathcal{L}_{sm}$ (eq. 9)", "loss"),
        "L": (0.5, 0.08, "balanced loss (eq. 11)\ntrained $\\sigma_{sm}$, $\\sigma_{ce}$", "loss"),
    }
    style = {"net": ("#f4f6fb", "#34495e"), "gaze": ("#fff4e6", "#d35400"),
             "loss": ("#eafaf1", "#1e8449")}
    arrows = [((left, 0.9), (left, 0.835)), ((left, 0.745), (left, 0.685)),
              ((left, 0.595), (left, 0.505)), ((left, 0.415), (left, 0.325)),
              ((right, 0.9), (right, 0.835)), ((0.44, 0.63), (right - 0.18, 0.575)),
              ((right, 0.505), (right, 0.325)), ((left, 0.235), (0.4, 0.125)),
              ((right, 0.235), (0.6, 0.125))]
    fig = figure(4.6, 6.2)
    with mpl.rc_context(STYLE):
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        for x, y, text, kind in boxes.values():
            face, edge = style[kind]
            ax.text(x, y, text, ha="center", va="center", fontsize=11, linespacing=1.5,
                    bbox={"boxstyle": "round,pad=0.4", "fc": face, "ec": edge})
        for start, end in arrows:
            ax.annotate("", xy=end, xytext=start,
                        arrowprops={"arrowstyle": "-|>", "color": "#333", "lw": 1.2})
        # Ψ to the selective MSE, around the right of the sigmoid box
        ax.annotate("", xy=(right + 0.13, 0.3), xytext=(right + 0.13, 0.77),
                    arrowprops={"arrowstyle": "-|>", "color": "#d35400", "lw": 1.2,
                                "connectionstyle": "bar,fraction=-0.25"})
        ax.text(right, 0.685, "training only", ha="center", va="center", fontsize=10,
                color="#d35400", style="italic")
    return fig


def released_behaviours() -> pd.DataFrame:
    """Every behaviour of the released code that changes training, and whether the
    ``ggcam-legacy`` arm reproduces it (docs: released-code.md; ``ggcam.config.RELEASED``)."""
    rows = [
        ("Ω = (1/F) Σ_k Λ_ck A_k, the mean over channels", "yes", "cam_reduction='mean'"),
        ("the Normal-class map Ω⁰ against Ψ for every label (int() of a sigmoid is 0)", "yes",
         "GGCAMLoss(mode='legacy')"),
        ("raw Ω against Ψ ∈ [0, 1], no sigmoid", "yes", "GGCAMLoss(mode='legacy')"),
        ("α never gets a gradient (frozen at 1)", "yes", "GGCAMLoss(mode='legacy')"),
        ("σ_sm₀ = e^−23 (ResNet), e^−16 (EffNet); σ_ce₀ = e^7", "yes", "ggcam.config.RELEASED"),
        ("lr 5e-3, P = 40 (ResNet); lr 6e-3, P = 40 (EffNet)",
         "P yes; lr yes where the profile keeps Table 1's", "the cpu profile sets one lr for every arm"),
        ("blur B = 500 for both networks (OpenCV kernel size, σ ≈ 75.5 px)", "yes",
         "kernel_size=500 (scaled with the phantom)"),
        ("ReduceLROnPlateau and the checkpoint on the validation total loss", "yes",
         "checkpoint_criterion='val_loss'"),
        ("the best weights reloaded at each learning-rate drop", "yes",
         "reload_best_on_lr_drop=True"),
        ("no input normalisation: grey image / its maximum, copied to 3 channels", "yes",
         "the cache and batch_inputs"),
        ("its own ResNet50-like (no max-pool, conv biases) and EffNetV2-S port (1792 channels)",
         "no", "torchvision networks, so every arm shares one backbone"),
        ("batch 4, up to 1024 epochs or 23.5 h, stop after 83 epochs without improvement",
         "no", "the profile's batch and epoch cap (sized to its machine)"),
        ("no seeds", "no", "every run is seeded: arms are paired by seed"),
        ("fraction = 0.01 left in the split code (1% of each split)", "no",
         "a leftover that would train on a handful of images"),
        ("landscape images cropped, not rotated", "no",
         "every image is centre-padded onto the grid by one rule (ggcam.geometry), kept whole"),
        ("split per class in file order, 70/10/20", "no (an option: split(..., 'released'))",
         "the sweep uses the paper's random split, seeded"),
    ]
    return pd.DataFrame(rows, columns=["released code", "ggcam-legacy reproduces it", "how, or why not"])


def paper_vs_code() -> pd.DataFrame:
    """The paper against the released code, item by item, with the values of each from
    ``ggcam.config`` (TABLE1, RELEASED) and the option that selects each here."""
    import math

    from ggcam.config import RELEASED, TABLE1
    from ggcam.gaze import sigma_from_kernel_size
    from ggcam.viz.report import number

    def ln(x):
        return f"e^{round(math.log(x)):d} ≈ {number(x)}"

    t1r, t1e = TABLE1[("resnet50", "ggcam")], TABLE1[("efficientnet_v2_s", "ggcam")]
    rr, re_ = RELEASED["resnet50"], RELEASED["efficientnet_v2_s"]
    rows = [
        ("supervised map", "Ωʸ of the true class (eq. 9)",
         "always Ω⁰ (Normal): int(sigmoid(label·α)) is 0 for every label", "mode='paper' | 'legacy'"),
        ("squashing", "Sigmoid(αΩʸ), α trainable (eq. 10)",
         "raw Ω against Ψ in [0, 1]; α gets no gradient", "the same switch"),
        ("Ω", "Σ_k Λ_ck A_k (eq. 4)", "the mean over the F channels", "cam_reduction='sum' | 'mean'"),
        ("initial σ_sm (ResNet, EffNet)", f"{number(t1r['sigma_sm'])}, {number(t1e['sigma_sm'])} (Table 1)",
         f"{ln(rr['sigma_sm'])}, {ln(re_['sigma_sm'])}", "ggcam-legacy takes the code's"),
        ("initial σ_ce", "1 (section 3.4)", ln(rr["sigma_ce"]), "ggcam-legacy takes the code's"),
        ("learning rate, P (ResNet)", f"{number(t1r['lr'])}, {t1r['plateau_patience']}",
         f"{number(rr['lr'])}, {rr['plateau_patience']}", "Table 1 by default"),
        ("learning rate, P (EffNet)", f"{number(t1e['lr'])}, {t1e['plateau_patience']}",
         f"{number(re_['lr'])}, {re_['plateau_patience']}", "Table 1 by default"),
        ("blur B (ResNet, EffNet)", f"{t1r['kernel_size']}, {t1e['kernel_size']}: a standard deviation",
         f"{rr['kernel_size']} for both: OpenCV's kernel size (σ = "
         f"{number(sigma_from_kernel_size(rr['kernel_size']))} px)", "kernel_size=B or sigma="),
        ("resampling", "Resample", "centre-pad, keep every c-th canvas pixel",
         "resample='area' (exact) | 'stride'"),
        ("interpretability", "the peak in the region (eq. 12)",
         "any cell of the peak's 3×3 neighbourhood in the region", "both reported"),
        ("split", "random 70/10/20 per class", "file order 70/10/20 per class",
         "split(..., 'paper' | 'released')"),
    ]
    return pd.DataFrame(rows, columns=["", "the paper", "the released code", "here"])
