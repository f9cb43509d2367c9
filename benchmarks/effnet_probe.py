"""Why EfficientNet-B0 misses the cpu study's learning target: one-seed probes.

Each probe is one `standard` run of the first study's profile (`cpu-v1`; seed 0, 1 torch thread on a shared
2-core machine) with one or more changes that are *not* options of ggcam, patched in here:

* ``head: linear`` re-initialises the CAM head like ``nn.Linear`` (torchvision's EfficientNet
  draws it from U(±1/√K) = U(±0.58), so the first logits are large and the first-epoch
  cross-entropy is ~5 instead of ln 3);
* ``dropout: 0`` and ``nosd`` remove the classifier dropout and the stochastic depth;
* ``lr``, ``max_epochs``, ``early_stop_patience``: the profile's values replaced;
* ``criterion``: the checkpoint criterion (``val_loss`` in every arm of the study);
* ``n_images``, ``split``: a larger phantom and its (train, val) fractions.

    python benchmarks/effnet_probe.py NAME SEED '{"head": "linear", "max_epochs": 30}'
    python benchmarks/effnet_probe.py --table     # results/cpu-probes/README.md's table

Not a ratio benchmark (``run_all.py`` does not pick it up); it lives here because ``results/``
holds data only.

Each probe writes its record and curves to ``results/cpu-probes/NAME/`` (``ResultsStore``
layout, without the maps). The committed study does not use any of these changes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "results" / "cpu-probes"  # the records


def table() -> str:
    """One Markdown row per probe record under this folder."""
    rows = ["| probe | changes | seed | test AUC | best epoch | epochs | single class | wall (s) |",
            "|---|---|---|---|---|---|---|---|"]
    for path in sorted(HERE.glob("*/efficientnet_b0__*.json")):
        r = json.loads(path.read_text())
        changes = json.loads((path.parent / "changes.json").read_text())
        rows.append(f"| {path.parent.name} | {', '.join(f'{k}={v}' for k, v in changes.items())} "
                    f"| {r['seed']} | {r['auc_ovo']:.3f} | {r['best_epoch']} | {r['epochs']} "
                    f"| {r['single_class']} | {r['wall_s']:.0f} |")
    return "\n".join(rows)


def probe(name: str, seed: int, changes: dict) -> None:
    import torch
    from torch import nn

    import ggcam.experiment.run as run_mod
    import ggcam.train as train
    from ggcam.experiment import profiles
    from ggcam.experiment.data import ProfileData
    from ggcam.experiment.store import ResultsStore

    torch.set_num_threads(1)
    prof = profiles.get_profile("cpu-v1")
    sizes = {k: v for k, v in changes.items()
             if k in ("max_epochs", "lr", "early_stop_patience", "n_images")}
    if "split" in changes:
        sizes["split_fractions"] = tuple(changes["split"])
    prof = dataclasses.replace(prof, options=dataclasses.replace(prof.options, threads=1), **sizes)
    build = train.build_model

    def patched_build(*args, **kwargs):
        model = build(*args, **kwargs)
        if changes.get("head") == "linear":
            nn.init.kaiming_uniform_(model.head.weight, a=5 ** 0.5)  # nn.Linear's own init
            bound = 1 / model.head.weight.shape[1] ** 0.5
            nn.init.uniform_(model.head.bias, -bound, bound)
        if "dropout" in changes:
            model.dropout = nn.Dropout2d(changes["dropout"]) if changes["dropout"] else nn.Identity()
        if changes.get("nosd"):
            for module in model.modules():
                if type(module).__name__ == "StochasticDepth":
                    module.p = 0.0
        return model

    run_config = profiles.run_config

    def patched_config(*args, **kwargs):
        config, options = run_config(*args, **kwargs)
        if "criterion" in changes:
            config = dataclasses.replace(config, checkpoint_criterion=changes["criterion"])
        return config, options

    train.build_model, run_mod.run_config = patched_build, patched_config
    spec = profiles.RunSpec("cpu-v1", "efficientnet_b0", "standard", seed)
    work = Path(".cache/probes") / name
    store = ResultsStore(work / "store")
    # A larger phantom gets a work root of its own (the prepared caches are named by profile).
    root = Path(".cache") if prof.n_images == 800 else Path(f".cache/probe-n{prof.n_images}")
    data = ProfileData(prof, None, root, None, progress=False)
    t0 = time.time()
    rec = run_mod.run_one(spec, prof, data, store, work / "checkpoints", progress=False)
    out = HERE / name
    out.mkdir(exist_ok=True)
    store.collect()
    (out / f"{spec.run_id}.json").write_text(json.dumps(store.record_dict_of(spec.run_id), indent=1) + "\n")
    curves = store.curves()
    curves[curves["run_id"] == spec.run_id].drop(columns=["network", "variant", "seed"]).to_csv(
        out / f"{spec.run_id}.csv", index=False)
    (out / "changes.json").write_text(json.dumps(changes) + "\n")
    print(f"{name} seed {seed} {changes}: test AUC {rec.auc_ovo:.3f}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        print(table())
    else:
        probe(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
