"""A model trained with ``ggcam train`` reloads with ``ggcam.build_model(..., weights=...)``
and gives the very logits the run stored for its test set."""

import subprocess
import sys

import numpy as np

import ggcam
from ggcam.data import CachedDataset
from ggcam.evaluate import evaluate
from ggcam.experiment import ResultsStore


def test_ggcam_train_output_reloads_with_identical_logits(tmp_path, one_torch_thread):
    results, work = tmp_path / "results", tmp_path / "work"
    out = subprocess.run(
        [sys.executable, "-m", "ggcam", "train", "--profile", "smoke", "--network", "resnet18",
         "--variant", "ggcam-legacy", "--seed", "0", "--results", str(results), "--work",
         str(work), "--quiet", "--threads", "1"],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    run_id = "resnet18__ggcam-legacy__s0"
    best = work / "checkpoints" / "smoke" / run_id / "best.pt"
    assert str(best) in out.stdout  # the command says where the weights are
    model = ggcam.build_model("resnet18", weights=best)
    assert model.head.reduction == "mean"  # the released code's head comes back with it
    preds = ResultsStore(results / "smoke").predictions(run_id)
    caches = [CachedDataset(c) for c in (work / "prepared").glob("smoke-*")]
    [full] = [c for c in caches if set(preds["dicom_id"]) <= set(c.metadata["dicom_id"])]  # the test set
    rows = full.metadata.reset_index().set_index("dicom_id").loc[preds["dicom_id"], "index"]
    ev = evaluate(model, full.subset(rows.to_numpy()))
    stored = preds[["logit_0", "logit_1", "logit_2"]].to_numpy()
    np.testing.assert_array_equal(ev.logits.astype(np.float64), stored)
