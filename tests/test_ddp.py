import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("variant", ["ggcam-legacy"])
def test_torchrun_ddp_keeps_ranks_in_sync(tmp_path, variant):
    """fit under torchrun (2 CPU processes, gloo): both ranks end with identical parameters,
    loss parameters included; the legacy variant's frozen α does not stall DDP."""
    worker = Path(__file__).with_name("ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_port=29533", str(worker), str(tmp_path), variant]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2 and r0["epochs"] == 1
    assert r0["first"] == r1["first"] and r0["checksum"] == r1["checksum"]
