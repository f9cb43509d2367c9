"""Run by tests/test_ddp.py under torchrun: two CPU processes train one model with DDP (gloo)."""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import SyntheticCXR

from ggcam.config import TrainConfig
from ggcam.runtime import distributed_context, seed_everything
from ggcam.train import fit, make_loss, make_model

out = Path(sys.argv[1])
variant = sys.argv[2]
ctx = distributed_context()
config = TrainConfig(network="resnet18", variant=variant, lr=1e-3, batch_size=4, max_epochs=1,
                     sigma_sm=0.5, seed=0)
seed_everything(0)
model, loss = make_model(config), make_loss(config)
data = SyntheticCXR(24)
res = fit(model, loss, data.subset(range(16)), data.subset(range(16, 24)), config, progress=False)
params = torch.cat([p.detach().flatten() for p in list(model.parameters()) + list(loss.parameters())])
(out / f"rank{ctx.rank}.json").write_text(json.dumps({
    "world": ctx.world_size, "checksum": float(params.double().sum()),
    "first": params[:5].tolist(), "epochs": int(res.epochs)}))
