"""``benchmarks/gpu_study.py``, the prepared gpu-fast script, dry-run on the CPU at toy size."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("gpu_study", ROOT / "benchmarks" / "gpu_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shards_partition_the_profile_and_name_their_device():
    cmds = _script().shard_commands("gpu-fast", 4, Path("r"), Path("w"), "cuda:0")
    assert [c[-1] for c in cmds] == ["0/4", "1/4", "2/4", "3/4"]
    assert all("--device" in c and "cuda:0" in c for c in cmds)


def test_dry_run_trains_its_share_of_the_smoke_profile(tmp_path):
    gs = _script()
    assert gs.main(["--dry-run", "--jobs", "2", "--results", str(tmp_path / "results"),
                    "--work", str(tmp_path / "work")]) == 0
    records = sorted((tmp_path / "results" / "smoke" / "runs").glob("*.json"))
    variants = {json.loads(r.read_text())["variant"] for r in records}
    assert variants == set(gs.DRY_VARIANTS) and len(records) == 5  # 2 base + 3 dose runs
