"""The search space of section 4.2 as data, and a trial's TrainConfig.

Section 4.2 names what was optimised (learning rate, optimiser, P; for GG-CAM also the initial
σ_sm and the blur B) but gives a range only for B. Every other range below is ours, chosen
around Table 1's optima; each ``Param`` says where its range comes from. The space's hash is
stored with every study, so a study is never continued over a different space.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from ggcam.config import OPTIMIZERS, TrainConfig, canonical_variant

# What a trial is scored by (its best epoch's), and which way is better. val_ce (the
# default) and val_auc mean the same for every arm and every σ_sm. val_loss is the arm's own
# loss: for GG-CAM eq. 11, whose gaze term 1/(2σ_sm²)·L_sm the searched initial σ_sm scales, so
# a search on it favours a large σ_sm whatever it does to classification (on the smoke
# profile, one epoch: val_loss 4e7 at σ_sm₀ = 4e-5, 2.9 at σ_sm₀ = 0.28).
OBJECTIVES = {"val_ce": "minimize", "val_loss": "minimize", "val_auc": "maximize"}


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter: a ``TrainConfig`` field and its range."""

    name: str  # the TrainConfig field; B is "kernel_size", in full-size image pixels
    kind: str  # "categorical" | "float" | "int"
    low: float | None = None  # lowest value (float, int)
    high: float | None = None  # highest value (float, int)
    log: bool = False  # sampled uniformly in log space
    step: int | None = None  # grid step (int)
    choices: tuple[str, ...] = ()  # the values (categorical)
    ggcam_only: bool = False  # searched for the GG-CAM arms only (no role in cross-entropy)
    label: str = ""  # the paper's name, for figures
    source: str = ""  # where the range comes from

    def distribution(self):
        """The Optuna distribution of this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "categorical":
            return CategoricalDistribution(self.choices)
        if self.kind == "float":
            return FloatDistribution(self.low, self.high, log=self.log)
        return IntDistribution(int(self.low), int(self.high), step=self.step or 1)

    def describe(self) -> str:
        """The range in words: "1e-05 … 0.1 (log)", "200 … 1000, step 100", "adam | sgd"."""
        if self.kind == "categorical":
            return " | ".join(self.choices)
        text = f"{self.low:g} … {self.high:g}"
        return text + (" (log)" if self.log else "") + (f", step {self.step}" if self.step else "")


SEARCH_SPACE: tuple[Param, ...] = (
    Param("optimizer", "categorical", choices=OPTIMIZERS, label="optimiser",
          source="§4.2: Adam, Adamax, SGD and SGD+momentum, each with its default settings"),
    Param("lr", "float", 1e-5, 1e-1, log=True, label="learning rate",
          source="not in the paper; Table 1's optima span 1e-4 (ResNet) to 7e-3 "
                 "(ResNet+GG-CAM): one decade beyond each end"),
    Param("plateau_patience", "int", 10, 60, step=5, label="P (plateau patience)",
          source="not in the paper; Table 1's P are 25, 30, 40, 50 (multiples of 5) and the "
                 "released code's 40: 10 … 60 on the same grid"),
    Param("sigma_sm", "float", 1e-12, 1.0, log=True, ggcam_only=True, label="initial σ_sm",
          source="not in the paper beyond 'a small value close to 0' (§3.4); covers Table 1's "
                 "1.4e-11 and 2.0e-9, the released code's e^-23 and e^-16, the ggcam-warm arm's "
                 "0.1, up to σ_ce's initial 1"),
    Param("kernel_size", "int", 200, 1000, step=100, ggcam_only=True, label="B (blur)",
          source="§4.2: performance not sensitive to B in [200, 1000]; Table 1's 500 and 600 "
                 "lie on the grid; step 100 bounds the prepared caches at 9 (one per B)"),
)


def space_hash(space: tuple[Param, ...] = SEARCH_SPACE) -> str:
    """What a study was searched over: every name, kind and range (not ``label``, ``source``)."""
    spec = [{k: v for k, v in asdict(p).items() if k not in ("label", "source")} for p in space]
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


def space_dict(space: tuple[Param, ...] = SEARCH_SPACE) -> dict[str, str]:
    """{name: range in words}, stored with a study to say how two spaces differ."""
    return {p.name: p.describe() + (" (GG-CAM only)" if p.ggcam_only else "") for p in space}


def active_params(variant: str, space: tuple[Param, ...] = SEARCH_SPACE) -> tuple[Param, ...]:
    """The parameters searched for an arm: σ_sm and B only where there is a gaze term."""
    standard = canonical_variant(variant) == "standard"
    return tuple(p for p in space if not (standard and p.ggcam_only))


def suggest(trial, variant: str) -> dict:
    """A trial's values of the arm's parameters, sampled by Optuna."""
    out = {}
    for p in active_params(variant):
        if p.kind == "categorical":
            out[p.name] = trial.suggest_categorical(p.name, p.choices)
        elif p.kind == "float":
            out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        else:
            out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), step=p.step or 1)
    return out


def trial_config(profile, base: TrainConfig, params: dict, epochs: int | None = None) -> TrainConfig:
    """``base`` (a profile's run, ``run_config``) with a trial's values and an epoch cap.

    B is given in full-size pixels; on a phantom profile it becomes ``blur_sigma`` scaled by
    ``profile.blur_sigma(B)``, as ``run_config`` does for Table 1's B.
    """
    unknown = set(params) - {p.name for p in SEARCH_SPACE}
    if unknown:
        raise ValueError(f"not in the search space: {sorted(unknown)}; it has "
                         f"{[p.name for p in SEARCH_SPACE]}")
    changes = {k: v for k, v in params.items() if k != "kernel_size"}
    if "kernel_size" in params:
        b = int(params["kernel_size"])
        sigma = profile.blur_sigma(b)  # None on real data: B is used as it is
        changes.update(kernel_size=b if sigma is None else None, blur_sigma=sigma)
    if epochs is not None:
        changes["max_epochs"] = min(base.max_epochs, epochs)
    return replace(base, **changes)


def search_space_frame(space: tuple[Param, ...] = SEARCH_SPACE):
    """The search space as a table (parameter, range, arms, source), for the book and README."""
    import pandas as pd

    return pd.DataFrame([{"parameter": p.name, "range": p.describe(),
                          "arms": "GG-CAM" if p.ggcam_only else "all", "source": p.source}
                         for p in space])
