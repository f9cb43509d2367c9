"""Reading ``results/<profile>/`` (written by ``ggcam.sweep``) for the analysis pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PREFERRED_PROFILES = ("paper", "gpu", "gpu-fast", "cpu")  # best first


def results_root(start: str | Path | None = None) -> Path:
    """The ``results/`` folder of the repository holding ``start`` (default: the cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "results").is_dir() and (folder / "pyproject.toml").is_file():
            return folder / "results"
    raise FileNotFoundError(f"no results/ folder beside a pyproject.toml above {here}")


def best_profile(root: str | Path | None = None) -> str:
    """The best profile with committed results (``gpu-fast`` when present, else ``cpu``)."""
    root = Path(root) if root else results_root()
    for name in PREFERRED_PROFILES:
        if (root / name / "runs.csv").is_file():
            return name
    raise FileNotFoundError(f"no results/<profile>/runs.csv under {root}; run `ggcam sweep`")


def profile_dir(profile: str | None = None, root: str | Path | None = None) -> Path:
    root = Path(root) if root else results_root()
    path = root / (profile or best_profile(root))
    if not (path / "runs.csv").is_file():
        raise FileNotFoundError(f"{path / 'runs.csv'} does not exist; run `ggcam sweep --profile {path.name}`")
    return path


def load_runs(path: Path) -> pd.DataFrame:
    return pd.read_csv(Path(path) / "runs.csv")


def _concat(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {folder}")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def _split_run_id(df: pd.DataFrame) -> pd.DataFrame:
    parts = df["run_id"].str.split("__", expand=True)
    return df.assign(network=parts[0], variant=parts[1], seed=parts[2].str[1:].astype(int))


def load_curves(path: Path) -> pd.DataFrame:
    """Every run's per-epoch curves, with network, variant and seed columns."""
    return _split_run_id(_concat(Path(path) / "curves"))


def load_predictions(path: Path) -> pd.DataFrame:
    frames = []
    for f in sorted((Path(path) / "predictions").glob("*.csv")):
        frames.append(pd.read_csv(f).assign(run_id=f.stem))
    return _split_run_id(pd.concat(frames, ignore_index=True))


def load_omega(path: Path) -> pd.DataFrame:
    return _concat(Path(path) / "omega")


def load_examples(path: Path) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """{(network, variant): {"labels", "psi", "cam", "dicom_id", ["image"]}} for Table 3."""
    out = {}
    for f in sorted((Path(path) / "examples").glob("*.npz")):
        network, variant = f.stem.split("__")
        with np.load(f) as z:
            out[(network, variant)] = {k: z[k] for k in z.files}
    return out


def provenance(path: Path) -> dict:
    """Where the numbers of a results folder come from: profile, commits, devices, dates, runs."""
    runs = load_runs(path)
    join = lambda col: ", ".join(sorted(set(map(str, runs[col].dropna())))) if col in runs else "?"
    return {"profile": Path(path).name, "runs": len(runs), "commit": join("commit"),
            "device": join("device"), "date": join("date")}


def provenance_markdown(path: Path) -> str:
    """The provenance line every results page starts with (Markdown)."""
    info = provenance(path)
    return (f"**Provenance.** Profile `{info['profile']}`, {info['runs']} runs, commit "
            f"{info['commit']}, device {info['device']}, date {info['date']}. **Phantom data: "
            "these are not the paper's numbers.**")
