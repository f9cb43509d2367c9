"""Experiment profiles and run specs: one code path, different sizes (design.md, "Profiles").

A profile fixes the data (phantom or real, sizes, split), the arms and their seeds, the epoch
caps, and where it runs. Everything else is Table 1 (``ggcam.config``). ``run_config`` is the
one function from a profile and a run spec to *what is trained* (``TrainConfig``) and *where it
runs* (``RunOptions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ggcam.config import CRITERIA, RunOptions, TrainConfig, table1_config
from ggcam.experiment.design import (  # noqa: F401  (profiles name them too)
    CONTROLS,
    DOSE_FACTORS,
    STUDY_FAMILIES,
    Arm,
    Dose,
    Family,
    Replicates,
    study_design,
)
from ggcam.gaze import sigma_from_kernel_size
from ggcam.geometry import STRIDE
from ggcam.study import PRIMARY, VARIANTS, arm


@dataclass(frozen=True)
class Profile:
    name: str
    data: str  # "phantom" (generated on first use) or "real" (EGD-CXR + MIMIC-CXR, --data-root)
    n_images: int  # phantom images when one pool is re-split per seed (the real release: 1,083)
    scale: float  # phantom image scale: 1.0 is full size (3056×2544)
    input_shape: tuple[int, int]  # network input (H, W); the Ω grid is this // STRIDE
    arms: tuple[Arm, ...]  # what runs, with which seeds
    primary: tuple[str, str]  # the primary comparison (reference arm, GG-CAM arm), named up front
    max_epochs: int  # epoch cap per run
    early_stop_patience: int  # epochs without improvement of the checkpoint criterion
    batch_size: int
    options: RunOptions = RunOptions()
    split_fractions: tuple[float, float] | None = None  # (train, val); None: the paper's 70/10
    lr: float | None = None  # one learning rate for every arm (None: Table 1's per arm)
    informativeness: float | None = None  # phantom reader's share of fixations on findings
    budget: str = ""  # what the profile is sized for, for humans
    replicates: Replicates | None = None  # independent replicates; None: re-split one pool
    doses: tuple[Dose, ...] = ()  # dose-response points (independent replicates only)
    criterion: str | None = None  # one checkpoint rule for every arm; None: Table 1's per arm
    equivalence_margin: float = 0.03  # |ΔAUC| below this is "no change" (TOST), fixed up front
    families: tuple[Family, ...] = ()  # Holm families, fixed before the sweep (dose points: none)

    def __post_init__(self) -> None:
        if self.criterion is not None and self.criterion not in CRITERIA:
            raise ValueError(f"profile {self.name}: criterion must be one of {CRITERIA}")
        for d in self.doses:
            if d.factor not in DOSE_FACTORS:
                raise ValueError(f"profile {self.name}: dose factor {d.factor!r} is not one of {DOSE_FACTORS}")
            if self.replicates is None:
                raise ValueError(f"profile {self.name}: doses need independent replicates")
            for v in d.variants:
                arm(v)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.input_shape[0] // STRIDE, self.input_shape[1] // STRIDE

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(n for a in self.arms for n in a.networks),
                                    *(d.network for d in self.doses)]))

    @property
    def variants(self) -> tuple[str, ...]:
        used = {a.variant for a in self.arms} | {v for d in self.doses for v in d.variants}
        return tuple(v for v in VARIANTS if v in used)

    @property
    def n_train_pool(self) -> int:
        """A replicate's training pool: the largest training set any of its runs uses."""
        sizes = [int(d.value) for d in self.doses if d.factor == "n_train"]
        return max([self.replicates.n_train, *sizes]) if self.replicates else 0

    @property
    def phantom_images(self) -> int:
        """Images of one phantom the profile draws: the pool, or a replicate's."""
        return self.n_images or (self.replicates.n_val + self.n_train_pool)

    @property
    def images_phrase(self) -> str:
        """The images a run sees, in words: a replicate's own draws, or one re-split pool."""
        r = self.replicates
        return (f"{r.n_train} training + {r.n_val} validation images per replicate, {r.n_test} test images"
                if r else f"{self.n_images:,} images")

    def blur_sigma(self, kernel_size: int) -> float | None:
        """Phantom images are scaled; so is the blur (B is given in full-size pixels)."""
        return None if self.data == "real" else sigma_from_kernel_size(kernel_size) * self.scale


@dataclass(frozen=True)
class RunSpec:
    profile: str
    network: str
    variant: str
    seed: int
    n_train: int | None = None  # a dose point's training-set size (None: the profile's base)
    informativeness: float | None = None  # a dose point's reader (None: the profile's base)

    @property
    def run_id(self) -> str:
        rid = f"{self.network}__{self.variant}__s{self.seed}"
        if self.n_train is not None:
            rid += f"__n{self.n_train}"
        if self.informativeness is not None:
            rid += f"__i{self.informativeness:g}"
        return rid

    @property
    def is_base(self) -> bool:
        return self.n_train is None and self.informativeness is None


def _all(networks, seeds, variants=VARIANTS) -> tuple[Arm, ...]:
    return tuple(Arm(v, tuple(networks), tuple(seeds)) for v in variants)


_PAPER_NETS = ("resnet50", "efficientnet_v2_s")
_GPU = RunOptions(device="cuda", precision="bf16", channels_last=True, num_workers=6)
_PAPER_ARMS = ("standard", "ggcam", "ggcam-fp64", "ggcam-warm", "ggcam-legacy", "ggcam-shuffled",
               "ggcam-centre")


# The cpu study does not fit 10 h at 256×224 (the input the dynamic-range check chose):
# following the agreed order it drops the other arms, then the oracle at the dose points, then
# base replicates from 10 to 8. Measured on its first runs: 31 s per epoch at 400 training
# images on 2 idle cores; GG-CAM-type arms train 17-30 epochs (median 28), standard 8-22:
# the first 25 runs took 8.6 h, ~22 h in all.
_CPU_ARMS, _CPU_DOSES = study_design("resnet18", base_seeds=8, other_seeds=0, dose_seeds=6, n_train=400,
                               sizes=(200, 800), oracle_doses=False)
_GPU_ARMS, _GPU_DOSES = study_design("resnet50", base_seeds=8, other_seeds=0, dose_seeds=6, n_train=600,
                               sizes=(200, 1200), oracle_doses=False)
_SMOKE_ARMS, _SMOKE_DOSES = study_design("resnet18", base_seeds=1, other_seeds=1, dose_seeds=1, n_train=24,
                                   informativeness=(1.0,), sizes=(48,))

PROFILES = {
    # What CI exercises: the whole design at toy size (every arm, a dose point of each factor).
    "smoke": Profile(
        "smoke", "phantom", n_images=0, scale=0.04, input_shape=(64, 64),
        arms=_SMOKE_ARMS, doses=_SMOKE_DOSES, primary=PRIMARY, max_epochs=2, early_stop_patience=2,
        batch_size=8, informativeness=0.6, criterion="val_auc",
        replicates=Replicates(n_train=24, n_val=12, n_test=24), families=STUDY_FAMILIES,
        options=RunOptions(threads=2), budget="≤ 60 s on 2 CPU cores (tests, CI)"),
    # Sized to learn on 2 cores: ResNet18 (the smallest of the paper's ResNet family), one
    # learning rate and one checkpoint rule for every arm, independent replicates, a shared
    # test set of 600 images, early stopping on validation AUC (patience 6, at most 30 epochs).
    # Input 256×224 (Ω 8×7): the smallest at which the oracle map beats the best fixed
    # location by ≥ 0.1 on every pneumonia localisation metric (benchmarks/dynamic_range.py).
    "cpu": Profile(
        "cpu", "phantom", n_images=0, scale=0.0625, input_shape=(256, 224),
        arms=_CPU_ARMS, doses=_CPU_DOSES, primary=PRIMARY, max_epochs=30, early_stop_patience=6,
        batch_size=16, lr=1e-3, informativeness=0.6, criterion="val_auc",
        replicates=Replicates(n_train=400, n_val=200, n_test=600), families=STUDY_FAMILIES,
        # channels_last: 1.16x the training step of contiguous NCHW at 256x224 (torch.compile
        # 1.09x even with its cache warm), deterministic on CPU (benchmarks/bench_cpu_options.py)
        options=RunOptions(threads=2, channels_last=True),
        budget="~22 h on 2 CPU cores, from its first 25 runs (over the 10 h aim), resumable"),
    # The first study (archived in results/cpu-v1, shown until the base point above is in):
    # one pool of 800 images re-split per seed, 12 epochs, each arm's own checkpoint rule.
    "cpu-v1": Profile(
        "cpu-v1", "phantom", n_images=800, scale=0.0625, input_shape=(192, 160),
        arms=(Arm("standard", ("resnet18", "efficientnet_b0"), tuple(range(8))),
              Arm("ggcam-warm", ("resnet18", "efficientnet_b0"), tuple(range(8))),
              Arm("ggcam-shuffled", ("resnet18",), tuple(range(8))),
              Arm("ggcam-centre", ("resnet18",), tuple(range(8))),
              Arm("ggcam", ("resnet18", "efficientnet_b0"), tuple(range(3))),
              Arm("ggcam-fp64", ("resnet18", "efficientnet_b0"), tuple(range(3))),
              Arm("ggcam-legacy", ("resnet18", "efficientnet_b0"), tuple(range(3)))),
        primary=PRIMARY, max_epochs=12, early_stop_patience=12, batch_size=16,
        split_fractions=(0.50, 0.10), lr=1e-3, options=RunOptions(threads=2),
        budget="the first study: one pool re-split per seed (archived)"),
    "gpu-fast": Profile(
        "gpu-fast", "phantom", n_images=0, scale=0.25, input_shape=(384, 320),
        arms=(*_GPU_ARMS, *(Arm(v, ("efficientnet_v2_s",), tuple(range(8))) for v in PRIMARY)),
        doses=_GPU_DOSES, primary=PRIMARY, max_epochs=40, early_stop_patience=10, batch_size=64,
        lr=1e-3, informativeness=0.6, criterion="val_auc",
        replicates=Replicates(n_train=600, n_val=200, n_test=600), options=_GPU, families=STUDY_FAMILIES,
        budget="one H100: benchmarks/gpu_study.py (unmeasured; --deadline 540 stops it, a rerun resumes)"),
    "gpu": Profile(
        "gpu", "phantom", n_images=1083, scale=1.0, input_shape=(1536, 1280),
        arms=_all(_PAPER_NETS, tuple(range(5)), _PAPER_ARMS), primary=PRIMARY, max_epochs=300,
        early_stop_patience=83, batch_size=4, options=_GPU, budget="hours on one GPU"),
    "paper": Profile(
        "paper", "real", n_images=1083, scale=1.0, input_shape=(1536, 1280),
        arms=_all(_PAPER_NETS, tuple(range(5)), _PAPER_ARMS), primary=PRIMARY, max_epochs=1024,
        early_stop_patience=83, batch_size=4, options=_GPU, budget="hours per run on GPU(s)"),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def _tier(spec: RunSpec) -> int:
    """Sweep order: the primary pair, then oracle and controls, then the dose-response points,
    then the other arms (a partly finished sweep answers the main question first)."""
    if not spec.is_base:
        return 2
    tier = arm(spec.variant).tier
    return 3 if tier == 2 else tier


def run_specs(profile: Profile, shard: tuple[int, int] = (0, 1)) -> list[RunSpec]:
    """All runs of a profile and this shard's share (i of n), in sweep order (``_tier``), seed
    by seed within each tier: after 2k runs the primary comparison has k paired replicates.
    """
    i, n = shard
    if not (isinstance(n, int) and isinstance(i, int) and n >= 1 and 0 <= i < n):
        raise ValueError(f"shard must be i/n with integers 0 <= i < n, got {i}/{n}")
    rank = {v: k for k, v in enumerate(dict.fromkeys((*profile.primary, *VARIANTS)))}
    specs = [RunSpec(profile.name, net, a.variant, seed)
             for a in profile.arms for net in a.networks for seed in a.seeds]
    for d in profile.doses:
        size = int(d.value) if d.factor == "n_train" else None
        reader = float(d.value) if d.factor == "informativeness" else None
        specs += [RunSpec(profile.name, d.network, v, seed, size, reader)
                  for v in d.variants for seed in d.seeds]
    specs.sort(key=lambda s: (_tier(s), s.seed, s.n_train or 0, s.informativeness or 0,
                              rank[s.variant], profile.networks.index(s.network)))
    return specs[i::n]


def run_config(profile: Profile, spec: RunSpec,
               device: str | None = None) -> tuple[TrainConfig, RunOptions]:
    """What a run trains (Table 1 + the profile's sizes and checkpoint rule) and where it runs."""
    base = table1_config(spec.network, spec.variant)
    sigma = profile.blur_sigma(base.kernel_size)
    overrides = dict(seed=spec.seed, batch_size=profile.batch_size, max_epochs=profile.max_epochs,
                     early_stop_patience=profile.early_stop_patience)
    if sigma is not None:
        overrides.update(kernel_size=None, blur_sigma=sigma)
    if profile.lr is not None:
        overrides["lr"] = profile.lr
    if profile.criterion is not None:
        overrides["checkpoint_criterion"] = profile.criterion
    config = table1_config(spec.network, spec.variant, **overrides)
    options = profile.options
    if device is not None and device != options.device:
        gpu = device.startswith("cuda")
        options = RunOptions(device=device, precision=options.precision if gpu else "fp32",
                             channels_last=options.channels_last and gpu,
                             compile=options.compile and gpu, num_workers=options.num_workers,
                             threads=options.threads)
    return config, options


def profiles_frame():
    """The profiles as a table, for the book and the README."""
    import pandas as pd

    from ggcam.study import NETWORK_LABELS

    return pd.DataFrame([{
        "profile": p.name, "data": p.data,
        "images": p.images_phrase,
        "input (H×W)": f"{p.input_shape[0]}×{p.input_shape[1]}",
        "Ω grid": f"{p.grid_shape[0]}×{p.grid_shape[1]}",
        "networks": ", ".join(NETWORK_LABELS.get(n, n) for n in p.networks),
        "runs": len(run_specs(p)),
        "epoch cap": p.max_epochs, "batch": p.batch_size, "device": p.options.device,
        "budget": p.budget,
    } for p in PROFILES.values()])
