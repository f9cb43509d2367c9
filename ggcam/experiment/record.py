"""One run's result: ``RunRecord``, exactly the columns of ``results/<profile>/runs.csv``,
each described with its unit where it is declared. Written and read by ``store.ResultsStore``.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields

import numpy as np

from ggcam.study import NETWORK_LABELS, VARIANT_LABELS


@dataclass(frozen=True)
class RunRecord:
    """One run's result: exactly the columns of ``runs.csv``. None = not applicable."""

    # what ran
    profile: str  # the profile's name (ggcam.experiment.PROFILES)
    network: str  # torchvision name, e.g. "resnet18"
    variant: str  # the arm, one of ggcam.config.VARIANTS
    seed: int  # fixes the split, the initialisation and the data order
    run_id: str  # <network>__<variant>__s<seed>
    config_hash: str  # TrainConfig.hash()
    data_origin: str  # "phantom" | "real", decided from the data itself
    data_id: str  # identity of the data files (ggcam.data.data_identity)
    # how training went
    status: str  # "ok" | "diverged"
    message: str  # why a run diverged ("" when ok)
    epochs: int | None  # epochs trained (None: diverged)
    best_epoch: int | None  # the epoch whose weights were tested (checkpoint criterion)
    stop_reason: str  # "max_epochs" | "early_stop" | "min_lr" | "non-finite"
    flags: str  # ";"-joined flags with their epochs, e.g. "adam-overflow:loss_fn.log_sigma_sm@epoch1"
    optimizer_overflow: bool  # some optimiser state became inf/NaN (that parameter froze)
    sigma_frozen: bool  # the overflow hit log σ_sm: σ_sm never moves again
    sigmoid_saturated: bool  # the gaze term gives no gradient (flag "sigmoid-saturated")
    single_class: bool  # every test image predicted as one class
    auc_ci_covers_chance: bool  # the 95% bootstrap interval of the test AUC contains 0.5
    learned: bool  # neither of the two above: the run is used in conclusions
    n_train: int  # images in the training / validation / test set
    n_val: int
    n_test: int
    # classification (Table 2)
    auc_ovo: float | None  # test AUC, one-vs-one macro (Hand & Till), unitless in [0, 1]
    auc_ovr: float | None  # one-vs-rest macro
    auc_ovo_low: float | None  # 95% percentile bootstrap, resampling within classes
    auc_ovo_high: float | None
    precision_normal: float | None  # per class, from the arg-max prediction (Table 2)
    recall_normal: float | None
    precision_chf: float | None
    recall_chf: float | None
    precision_pneumonia: float | None
    recall_pneumonia: float | None
    # localisation: eq. 12 (strict, and the released code's 3×3), with chance baselines
    interp_chf: float | None  # eq. 12: share of CHF images whose Ω^Y peak is in the heart
    interp_pneumonia: float | None  # ... pneumonia images whose peak is in a lung
    interp3x3_chf: float | None  # the same with the released code's 3×3 tolerance
    interp3x3_pneumonia: float | None
    interp_chance_chf: float | None  # share of Ω cells inside the heart region (CHF images)
    interp_chance_pneumonia: float | None  # share inside the lungs (pneumonia images)
    pointing: float | None  # pointing game: arg-max of Ω^Y in a true-finding cell (strict)
    pointing_chance: float | None  # share of Ω cells holding a true finding (random arg-max)
    # agreement of Ω^Y with Ψ, and the same metrics of the centre prior (mean training Ψ)
    cc: float | None  # Pearson CC, mean over test images with gaze
    kl: float | None  # KL(Ψ ‖ Ω^Y) of the maps normalised to sum 1, nats
    sim: float | None  # histogram intersection of the sum-1 maps, in [0, 1]
    nss: float | None  # mean of the z-scored Ω^Y at the fixation cells
    auc_judd: float | None  # Ω^Y ranking fixation cells above the others, in [0, 1]
    cc_centre: float | None
    kl_centre: float | None
    sim_centre: float | None
    nss_centre: float | None
    auc_judd_centre: float | None
    # loss parameters at the end
    sigma_sm_final: float | None  # eq. 11's σ_sm, σ_ce, eq. 10's α and the weights
    sigma_ce_final: float | None
    alpha_final: float | None
    w_sm_final: float | None  # 1/(2σ_sm²) and 1/σ_ce² (None for standard arms)
    w_ce_final: float | None
    # provenance
    wall_s: float  # training wall time, seconds (a resumed run: earlier epochs included)
    device: str  # e.g. "cpu" or the GPU's name
    threads: int  # torch.get_num_threads() during the run
    commit: str  # git commit of the ggcam package that ran it
    date: str  # ISO date the run finished
    # study v2 (None in records of the first study, results/cpu-v1)
    learned_reason: str | None = None  # why a run does or does not count as learned
    informativeness: float | None = None  # the simulated reader's (phantom data)
    data_key: str | None = None  # which data, from parameters: the sweep's "done" check
    test_id: str | None = None  # content identity of the test set
    criterion: str | None = None  # the checkpoint rule: "val_auc" | "val_loss"
    auc_ovo_last: float | None = None  # test AUC of the last epoch's weights
    # localisation in input pixels on the upsampled Ω^Y, per class (chf, pneumonia), beside
    # three maps that know nothing of the image: the mean-gaze prior, the best fixed location
    # (fitted on the training set) and a uniformly random peak
    pointing_chf: float | None = None  # peak within the tolerance of a true finding
    pointing_pneumonia: float | None = None
    energy_chf: float | None = None  # share of the map's mass inside the findings
    energy_pneumonia: float | None = None
    inside_auroc_chf: float | None = None  # map values inside vs outside the findings
    inside_auroc_pneumonia: float | None = None
    prior_pointing_chf: float | None = None
    prior_pointing_pneumonia: float | None = None
    prior_energy_chf: float | None = None
    prior_energy_pneumonia: float | None = None
    prior_inside_auroc_chf: float | None = None
    prior_inside_auroc_pneumonia: float | None = None
    fixed_pointing_chf: float | None = None
    fixed_pointing_pneumonia: float | None = None
    fixed_energy_chf: float | None = None
    fixed_energy_pneumonia: float | None = None
    fixed_inside_auroc_chf: float | None = None
    fixed_inside_auroc_pneumonia: float | None = None
    random_pointing_chf: float | None = None
    random_pointing_pneumonia: float | None = None
    cc_partial: float | None = None  # partial CC(Ω^Y, Ψ) given the mean-gaze prior

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def required(cls) -> list[str]:
        """The columns every record has (those of the first study)."""
        return [f.name for f in fields(cls) if f.default is MISSING]

    @property
    def model_label(self) -> str:
        """What the book calls this run's model, e.g. "ResNet18 +GG-CAM, float64 and σ_sm₀ = 0.1".

        A property, not a column: it follows from ``network`` and ``variant`` through
        ``ggcam.config``'s labels, so a relabelled arm never leaves stale text in old records.
        """
        return (f"{NETWORK_LABELS.get(self.network, self.network)} "
                f"{VARIANT_LABELS.get(self.variant, self.variant)}")

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        missing = set(cls.required()) - set(d)
        if missing:
            raise ValueError(f"run record lacks {sorted(missing)} (written by an older ggcam? "
                             "rerun it with `ggcam sweep --fresh RUN_ID`)")
        return cls(**{k: _none_if_nan(d[k]) for k in cls.columns() if k in d})


def _none_if_nan(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def json_default(o):
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    raise TypeError(f"cannot write {type(o).__name__} to a run record")


