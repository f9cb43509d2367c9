"""What one run reads: its training, validation and test sets, and their identities.

Two designs (``Profile.replicates``):

* **Independent replicates** (the study): replicate s draws its own phantom for training and
  validation (phantom seed s + 1, ``n_val`` + the largest training set of any of its runs);
  one large phantom (``Replicates.test_seed``) is the test set of every replicate and arm. A
  dose point changes one thing: the training set is the first ``n_train`` images of the
  replicate's pool in a fixed class-stratified order (so the sizes are nested), or the
  phantom is drawn again with another reader ``informativeness`` (the same seed draws the
  same images, findings and labels; only the gaze differs, ``tests/test_data_phantom.py``).
* **One pool re-split per seed** (real data, which has one release of 1,083 images): the
  paper's stratified split of one dataset with the run's seed.

``data_key`` says cheaply (from parameters, before any data exists) which data a run reads:
the sweep compares it with a record's to decide that a run is done. ``data_id`` is the
content identity of the data actually read, recorded with the run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ggcam.config import TrainConfig
from ggcam.experiment.controls import with_gaze_source
from ggcam.experiment.profiles import Profile, RunSpec


@dataclass(frozen=True)
class RunSets:
    """One run's data. ``train_fit``/``val_fit`` carry the arm's Ψ (``controls``)."""

    train: Dataset
    val: Dataset
    test: Dataset
    train_fit: Dataset
    val_fit: Dataset
    data_id: str  # content identity of the training/validation data (and test data)
    test_id: str  # content identity of the test data
    n_train: int
    informativeness: float | None


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A fixed order of the items in which every prefix keeps the class mix: items are
    shuffled within their class and interleaved by their rank / class size."""
    rng = np.random.default_rng([seed, 11])
    key = np.empty(len(labels))
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        key[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(key, kind="stable")


class ProfileData:
    """The data of a profile's runs: phantoms made when first needed (or a checked real
    release), one cache per phantom and blur (``<work>/prepared/``, named by the data's
    identity, so two data roots never share one)."""

    def __init__(self, profile: Profile, data_root: Path | None, work_root: Path,
                 mimic_root: Path | None = None, progress: bool = True) -> None:
        if profile.data == "real" and data_root is None:
            raise ValueError(f"profile {profile.name!r} reads the real EGD-CXR release: give "
                             "--data-root (the folder holding egd-cxr/1.0.0 or that folder itself)")
        if profile.replicates is not None and data_root is not None:
            raise ValueError(f"profile {profile.name!r} draws an independent phantom per "
                             "replicate; it reads no --data-root")
        self.profile, self.work_root, self.progress = profile, Path(work_root), progress
        self._roots: dict = {}
        self._caches: dict = {}
        if profile.replicates is None:
            from ggcam.data import data_identity

            roots = self._phantom_or_release(data_root, mimic_root, profile.n_images, 0,
                                             profile.informativeness)
            self.origin = roots.origin
            self.data_id = data_identity(roots.egd_root, roots.mimic_root)
            self._pool = roots
        else:
            self.origin, self.data_id, self._pool = "phantom", None, None

    # -- identities ------------------------------------------------------------------------
    def _phantom_params(self, n: int, seed: int, informativeness) -> dict:
        from ggcam.data.phantom.generate import phantom_params

        return phantom_params(n, self.profile.scale, seed, informativeness)

    def data_key(self, spec: RunSpec) -> str:
        """Which data ``spec`` reads, from parameters alone (nothing is generated)."""
        rep = self.profile.replicates
        if rep is None:
            return self.data_id
        return "k" + _digest({"pool": self._phantom_params(*self._pool_args(spec)),
                              "test": self._phantom_params(*self._test_args()),
                              "n_train": self._n_train(spec), "n_val": rep.n_val, "design": 2})

    # -- the sets --------------------------------------------------------------------------
    def _pool_args(self, spec: RunSpec) -> tuple[int, int, float | None]:
        rep = self.profile.replicates
        reader = spec.informativeness if spec.informativeness is not None else self.profile.informativeness
        return rep.n_val + self.profile.n_train_pool, spec.seed + 1, reader

    def _test_args(self) -> tuple[int, int, float | None]:
        rep = self.profile.replicates
        return rep.n_test, rep.test_seed, self.profile.informativeness

    def _n_train(self, spec: RunSpec) -> int:
        return spec.n_train if spec.n_train is not None else self.profile.replicates.n_train

    def _phantom_or_release(self, data_root, mimic_root, n, seed, informativeness):
        from ggcam.data import ensure_dataset

        return ensure_dataset(Path(data_root) if data_root else None, work_root=self.work_root,
                              n_images=n, scale=self.profile.scale, seed=seed,
                              informativeness=informativeness,
                              mimic_root=Path(mimic_root) if mimic_root else None,
                              progress=self.progress)

    def cache(self, roots, config: TrainConfig):
        """The prepared cache of one data root for ``config``'s blur and gaze table."""
        from ggcam.data import CachedDataset, data_identity, prepare

        gaze, weighting = config.gaze_table
        key = (str(roots.egd_root), config.kernel_size, config.blur_sigma, config.gaze_points)
        if key not in self._caches:
            tag = f"B{config.kernel_size}" if config.kernel_size else f"s{config.blur_sigma:.4g}"
            shape = self.profile.input_shape
            ident = data_identity(roots.egd_root, roots.mimic_root)
            name = (f"{self.profile.name}-{roots.origin}-{hashlib.sha1(ident.encode()).hexdigest()[:8]}-"
                    f"{shape[0]}x{shape[1]}-{tag}-{config.gaze_points}")
            path = prepare(roots.egd_root, roots.mimic_root, self.work_root / "prepared" / name,
                           input_shape=shape, kernel_size=config.kernel_size, sigma=config.blur_sigma,
                           gaze=gaze, weighting=weighting, progress=self.progress)
            self._caches[key] = (CachedDataset(path), ident)
        return self._caches[key]

    def __call__(self, config: TrainConfig):
        """The one pool of a re-split profile, prepared for ``config`` (tuning, the book)."""
        if self._pool is None:
            raise ValueError(f"profile {self.profile.name!r} has no single pool: use sets(spec, config)")
        return self.cache(self._pool, config)[0]

    def sets(self, spec: RunSpec, config: TrainConfig) -> RunSets:
        """The training, validation and test sets of ``spec``, with the arm's Ψ applied."""
        if self.profile.replicates is None:
            train, val, test = self._resplit(spec, config)
            data_id = test_id = self.data_id
        else:
            train, val, test, data_id, test_id = self._independent(spec, config)
        train_fit, val_fit = with_gaze_source(train, val, config.gaze_source, spec.seed)
        return RunSets(train, val, test, train_fit, val_fit, data_id, test_id, len(train),
                       spec.informativeness if spec.informativeness is not None
                       else self.profile.informativeness)

    def _resplit(self, spec: RunSpec, config: TrainConfig):
        from ggcam.data import split

        dataset = self(config)
        parts = split(dataset.metadata, "paper", seed=spec.seed, fractions=self.profile.split_fractions)
        return tuple(dataset.subset(parts[k]) for k in ("train", "val", "test"))

    def _independent(self, spec: RunSpec, config: TrainConfig):
        rep = self.profile.replicates
        pool, pool_id = self.cache(self._phantom_or_release(None, None, *self._pool_args(spec)), config)
        test, test_id = self.cache(self._phantom_or_release(None, None, *self._test_args()), config)
        order = stratified_order(pool.labels(), spec.seed)
        val = pool.subset(np.sort(order[:rep.n_val]))
        train = pool.subset(np.sort(order[rep.n_val:rep.n_val + self._n_train(spec)]))
        return train, val, test, "r" + _digest([pool_id, test_id]), test_id
