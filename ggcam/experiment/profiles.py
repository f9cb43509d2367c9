"""Experiment profiles and run specs: one code path, different sizes (design.md, "Profiles").

A profile fixes the data (phantom or real, sizes, split), the arms and their seeds, the epoch
caps, and where it runs. Everything else is Table 1 (``ggcam.config``). ``run_config`` is the
one function from a profile and a run spec to *what is trained* (``TrainConfig``) and *where it
runs* (``RunOptions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ggcam.config import VARIANTS, RunOptions, TrainConfig, table1_config
from ggcam.gaze import sigma_from_kernel_size
from ggcam.geometry import STRIDE

CONTROLS = ("ggcam-shuffled", "ggcam-centre")


@dataclass(frozen=True)
class Arm:
    variant: str  # one of ggcam.config.VARIANTS
    networks: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class Profile:
    name: str
    data: str  # "phantom" (generated on first use) or "real" (EGD-CXR + MIMIC-CXR, --data-root)
    n_images: int  # phantom images (the real release has 1,083)
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

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.input_shape[0] // STRIDE, self.input_shape[1] // STRIDE

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for a in self.arms for n in a.networks))

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(v for v in VARIANTS if any(a.variant == v for a in self.arms))

    def blur_sigma(self, kernel_size: int) -> float | None:
        """Phantom images are scaled; so is the blur (B is given in full-size pixels)."""
        return None if self.data == "real" else sigma_from_kernel_size(kernel_size) * self.scale


@dataclass(frozen=True)
class RunSpec:
    profile: str
    network: str
    variant: str
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.network}__{self.variant}__s{self.seed}"


def _all(networks, seeds, variants=VARIANTS) -> tuple[Arm, ...]:
    return tuple(Arm(v, tuple(networks), tuple(seeds)) for v in variants)


_PAPER_NETS = ("resnet50", "efficientnet_v2_s")
_GPU = RunOptions(device="cuda", precision="bf16", channels_last=True, num_workers=6)
_CPU_NETS = ("resnet18", "efficientnet_b0")
_PRIMARY = ("standard", "ggcam-warm")

PROFILES = {
    "smoke": Profile(
        "smoke", "phantom", n_images=30, scale=0.04, input_shape=(64, 64),
        arms=_all(_PAPER_NETS, (0,), ("standard", "ggcam", "ggcam-warm", "ggcam-legacy")),
        primary=_PRIMARY, max_epochs=2, early_stop_patience=2, batch_size=8,
        budget="≤ 60 s on 2 CPU cores (tests, CI)"),
    # Sized to learn on 2 cores: the smallest members of the paper's two families, one
    # learning rate for every arm (so the primary comparison differs in the loss alone), a
    # held-out test set of 40 % (320 images). Runs are ordered primary comparison first, then
    # the controls, then the other arms, seed by seed within each.
    "cpu": Profile(
        "cpu", "phantom", n_images=800, scale=0.0625, input_shape=(192, 160),
        arms=(Arm("standard", _CPU_NETS, tuple(range(8))),
              Arm("ggcam-warm", _CPU_NETS, tuple(range(8))),
              Arm("ggcam-shuffled", ("resnet18",), tuple(range(8))),
              Arm("ggcam-centre", ("resnet18",), tuple(range(8))),
              Arm("ggcam", _CPU_NETS, tuple(range(3))),
              Arm("ggcam-fp64", _CPU_NETS, tuple(range(3))),
              Arm("ggcam-legacy", _CPU_NETS, tuple(range(3)))),
        primary=_PRIMARY, max_epochs=12, early_stop_patience=12, batch_size=16,
        split_fractions=(0.50, 0.10), lr=1e-3, options=RunOptions(threads=2),
        budget="≈ 5 h on 2 CPU cores, resumable"),
    "gpu-fast": Profile(
        "gpu-fast", "phantom", n_images=1083, scale=0.25, input_shape=(384, 320),
        arms=_all(_PAPER_NETS, tuple(range(8))), primary=_PRIMARY, max_epochs=30,
        early_stop_patience=30, batch_size=64, split_fractions=(0.6, 0.1), options=_GPU,
        budget="≤ 8 min per run group on one H100, generation included"),
    "gpu": Profile(
        "gpu", "phantom", n_images=1083, scale=1.0, input_shape=(1536, 1280),
        arms=_all(_PAPER_NETS, tuple(range(5))), primary=_PRIMARY, max_epochs=300,
        early_stop_patience=83, batch_size=4, options=_GPU, budget="hours on one GPU"),
    "paper": Profile(
        "paper", "real", n_images=1083, scale=1.0, input_shape=(1536, 1280),
        arms=_all(_PAPER_NETS, tuple(range(5))), primary=_PRIMARY, max_epochs=1024,
        early_stop_patience=83, batch_size=4, options=_GPU, budget="hours per run on GPU(s)"),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def run_specs(profile: Profile, shard: tuple[int, int] = (0, 1)) -> list[RunSpec]:
    """All runs of a profile and this shard's share (i of n): the primary comparison first,
    then the gaze controls, then the other arms; seed by seed within each.

    The order makes a partly finished sweep useful: after 2k runs of the primary arms on one
    network, the primary comparison has k paired seeds on it.
    """
    i, n = shard
    if not (isinstance(n, int) and isinstance(i, int) and n >= 1 and 0 <= i < n):
        raise ValueError(f"shard must be i/n with integers 0 <= i < n, got {i}/{n}")
    rank = {v: k for k, v in enumerate(dict.fromkeys((*profile.primary, *VARIANTS)))}
    specs = [RunSpec(profile.name, net, arm.variant, seed)
             for arm in profile.arms for net in arm.networks for seed in arm.seeds]
    def tier(variant: str) -> int:
        return 0 if variant in profile.primary else 1 if variant in CONTROLS else 2

    specs.sort(key=lambda s: (tier(s.variant), s.seed, rank[s.variant],
                              profile.networks.index(s.network)))
    return specs[i::n]


def run_config(profile: Profile, spec: RunSpec,
               device: str | None = None) -> tuple[TrainConfig, RunOptions]:
    """What a run trains (Table 1 + the profile's sizes) and where it runs."""
    base = table1_config(spec.network, spec.variant)
    sigma = profile.blur_sigma(base.kernel_size)
    overrides = dict(seed=spec.seed, batch_size=profile.batch_size, max_epochs=profile.max_epochs,
                     early_stop_patience=profile.early_stop_patience)
    if sigma is not None:
        overrides.update(kernel_size=None, blur_sigma=sigma)
    if profile.lr is not None:
        overrides["lr"] = profile.lr
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

    from ggcam.config import NETWORK_LABELS

    return pd.DataFrame([{
        "profile": p.name, "data": p.data, "images": p.n_images,
        "input (H×W)": f"{p.input_shape[0]}×{p.input_shape[1]}",
        "Ω grid": f"{p.grid_shape[0]}×{p.grid_shape[1]}",
        "networks": ", ".join(NETWORK_LABELS.get(n, n) for n in p.networks),
        "runs": sum(len(a.networks) * len(a.seeds) for a in p.arms),
        "epoch cap": p.max_epochs, "batch": p.batch_size, "device": p.options.device,
        "budget": p.budget,
    } for p in PROFILES.values()])
