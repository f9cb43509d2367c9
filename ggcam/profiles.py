"""Experiment profiles: one code path, different sizes (design.md, "Profiles").

Every profile runs ResNet50 and EfficientNetV2-S, standard and GG-CAM, with Table 1's
hyper-parameters; only the data, sizes, seeds, epoch caps and where it runs differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import NETWORKS, VARIANTS


@dataclass(frozen=True)
class Profile:
    name: str
    data: str  # "phantom" (generated on first use) or "real" (EGD-CXR + MIMIC-CXR, --data-root)
    n_images: int  # phantom images (the real release has 1,083)
    scale: float  # phantom image scale: 1.0 is full size (3056×2544)
    input_shape: tuple[int, int]  # network input (H, W); the Ω grid is this // 32
    seeds: tuple[int, ...]
    max_epochs: int  # epoch cap per run
    early_stop_patience: int  # epochs without improvement of the checkpoint criterion
    batch_size: int
    device: str  # "cpu" or "cuda"
    precision: str = "fp32"  # "bf16" on GPUs
    channels_last: bool = False
    num_workers: int = 0
    networks: tuple[str, ...] = NETWORKS
    variants: tuple[str, ...] = VARIANTS
    budget: str = ""  # what the profile is sized for, for humans

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.input_shape[0] // 32, self.input_shape[1] // 32

    def blur_sigma(self, kernel_size: int) -> float | None:
        """Phantom images are scaled; so is the blur (B is given in full-size pixels)."""
        from .gaze import sigma_from_kernel_size

        return None if self.data == "real" else sigma_from_kernel_size(kernel_size) * self.scale


_GPU = dict(device="cuda", precision="bf16", channels_last=True, num_workers=6)

PROFILES = {
    "smoke": Profile("smoke", "phantom", n_images=30, scale=0.04, input_shape=(64, 64), seeds=(0,),
                     max_epochs=2, early_stop_patience=2, batch_size=8, device="cpu",
                     budget="≤ 60 s on 2 CPU cores (tests, CI)"),
    "cpu": Profile("cpu", "phantom", n_images=300, scale=0.0625, input_shape=(160, 128),
                   seeds=(0, 1, 2), max_epochs=4, early_stop_patience=4, batch_size=16,
                   device="cpu", budget="≤ 45 min on 2 CPU cores"),
    "gpu-fast": Profile("gpu-fast", "phantom", n_images=1083, scale=0.25, input_shape=(384, 320),
                        seeds=(0, 1, 2, 3, 4), max_epochs=30, early_stop_patience=30,
                        batch_size=64, budget="≤ 8 min on one H100, generation included", **_GPU),
    "gpu": Profile("gpu", "phantom", n_images=1083, scale=1.0, input_shape=(1536, 1280),
                   seeds=(0, 1, 2, 3, 4), max_epochs=300, early_stop_patience=83, batch_size=4,
                   budget="hours on one GPU", **_GPU),
    "paper": Profile("paper", "real", n_images=1083, scale=1.0, input_shape=(1536, 1280),
                     seeds=(0, 1, 2, 3, 4), max_epochs=1024, early_stop_patience=83,
                     batch_size=4, budget="hours per run on GPU(s)", **_GPU),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def profiles_frame():
    import pandas as pd

    return pd.DataFrame([{
        "profile": p.name, "data": p.data, "images": p.n_images,
        "input (H×W)": f"{p.input_shape[0]}×{p.input_shape[1]}",
        "Ω grid": f"{p.grid_shape[0]}×{p.grid_shape[1]}", "seeds": len(p.seeds),
        "epoch cap": p.max_epochs, "batch": p.batch_size, "device": p.device, "budget": p.budget,
    } for p in PROFILES.values()])
