import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from synthetic import SyntheticCXR

from ggcam import results
from ggcam.profiles import PROFILES, Profile, get_profile
from ggcam.sweep import (OMEGA_BIN_EDGES, RunSpec, collect_runs, is_done, omega_histogram,
                         run_config, run_one, run_specs)

TINY = Profile("tiny", "phantom", n_images=30, scale=0.04, input_shape=(64, 64), seeds=(0,),
               max_epochs=1, early_stop_patience=1, batch_size=8, device="cpu",
               networks=("resnet50",), variants=("standard", "ggcam"))


def test_every_profile_runs_both_networks_and_the_paper_variants():
    for p in PROFILES.values():
        assert set(p.networks) == {"resnet50", "efficientnet_v2_s"}
        assert {"standard", "ggcam"} <= set(p.variants)
        assert p.input_shape[0] % 32 == 0 and p.input_shape[1] % 32 == 0
    assert get_profile("paper").grid_shape == (48, 40)
    assert get_profile("gpu-fast").grid_shape == (12, 10) and get_profile("gpu-fast").n_images == 1083
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("huge")


def test_shards_partition_the_runs():
    p = get_profile("cpu")
    everything = run_specs(p)
    assert len(everything) == len(p.seeds) * len(p.networks) * len(p.variants)
    shards = [run_specs(p, (i, 3)) for i in range(3)]
    flat = [s for sh in shards for s in sh]
    assert sorted(flat, key=lambda s: s.run_id) == sorted(everything, key=lambda s: s.run_id)
    assert len(set(s.run_id for s in flat)) == len(flat)
    with pytest.raises(ValueError, match="shard"):
        run_specs(p, (3, 3))


def test_run_config_scales_blur_with_the_phantom_and_keeps_table1():
    p = get_profile("cpu")
    c = run_config(p, RunSpec("cpu", "resnet50", "ggcam", 1))
    assert c.kernel_size is None and c.blur_sigma == pytest.approx(75.5 * p.scale)
    assert (c.lr, c.sigma_sm, c.seed, c.batch_size) == (7e-3, 2e-9, 1, p.batch_size)
    real = run_config(get_profile("paper"), RunSpec("paper", "efficientnet_v2_s", "ggcam", 0), device="cpu")
    assert real.kernel_size == 600 and real.blur_sigma is None and real.precision == "fp32"


def test_omega_histogram_counts_every_element():
    cams = np.array([0.0, 1e-3, -5.0, 2e6, -3e7])
    counts = omega_histogram(cams)
    assert counts.sum() == 5 and counts[-1] == 1 and counts[0] == 1  # tails clipped to end bins
    assert np.all(np.diff(OMEGA_BIN_EDGES) > 0)


def test_run_one_writes_results_as_data_and_is_resumable(tmp_path):
    out, ckpt = tmp_path / "results" / "tiny", tmp_path / "ckpt"
    data = SyntheticCXR(30)
    for spec in run_specs(TINY):
        rec = run_one(spec, TINY, lambda config: data, out, ckpt, progress=False)
        assert rec["status"] == "ok" and rec["n_test"] == 6 and rec["epochs"] == 1
        assert is_done(out, spec, run_config(TINY, spec))
    runs = collect_runs(out)
    assert list(runs["variant"]) == ["ggcam", "standard"] and len(runs) == 2
    for col in ("auc_ovo", "auc_ovr", "precision_chf", "recall_pneumonia", "interp_chf",
                "interp3x3_pneumonia", "cc", "kl", "sim", "config_hash", "device", "commit", "wall_s"):
        assert col in runs, col
    assert pd.read_csv(out / "runs.csv").shape == runs.shape
    ggcam_curves = pd.read_csv(out / "curves" / "resnet50__ggcam__s0.csv")
    assert {"sigma_sm", "w_sm", "val_loss"} <= set(ggcam_curves.columns)
    hist = results.load_omega(out)
    assert hist.groupby("run_id")["count"].sum().tolist() == [6 * 3 * 2 * 2] * 2
    ex = results.load_examples(out)[("resnet50", "ggcam")]
    assert sorted(ex["labels"].tolist()) == [0, 1, 2] and ex["cam"].shape == (3, 2, 2)
    np.testing.assert_allclose(ex["psi"].max(axis=(1, 2)), 1.0)
    preds = results.load_predictions(out)
    np.testing.assert_allclose(preds[["p0", "p1", "p2"]].sum(axis=1), 1, rtol=1e-5)
    info = results.provenance(out)
    assert info["runs"] == 2 and info["profile"] == "tiny"
    # The record changes only if the configuration does: a finished run is never redone.
    spec = run_specs(TINY)[0]
    record = json.loads((out / "runs" / f"{spec.run_id}.json").read_text())
    assert record["config_hash"] == run_config(TINY, spec).hash()


def test_cli_help_explains_every_command():
    for cmd in ("phantom", "prepare", "train", "sweep"):
        out = subprocess.run([sys.executable, "-m", "ggcam", cmd, "--help"], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0 and "--" in out.stdout and "default" in out.stdout


def test_cli_reports_bad_input_without_traceback():
    out = subprocess.run([sys.executable, "-m", "ggcam", "sweep", "--profile", "paper",
                          "--work", "/nonexistent"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "data-root" in out.stderr and "Traceback" not in out.stderr
