import json
import math

import pytest
import torch
from torch import nn

from bnn.datasets import load_dataset, synthetic
from bnn.loader import ImageDataset
from bnn.evaluate import evaluate
from bnn.train import (
    TrainConfig,
    TrainError,
    load_checkpoint,
    lr_factor,
    model_from_checkpoint,
    recalibrate_batchnorm,
    seed_everything,
    train,
)


pytestmark = pytest.mark.usefixtures("one_thread")


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))


@pytest.fixture(scope="module")
def sets():
    return ImageDataset(synthetic(512, seed=1)), ImageDataset(load_dataset("synthetic", split="test"))


def cfg(tmp_path=None, **kw):
    base = dict(epochs=3, batch_size=64, lr=3e-3, seed=0, progress=False, out_dir=tmp_path)
    base.update(kw)
    return TrainConfig(**base)


def run(sets, config, **kw):
    seed_everything(config.seed)
    return train(mlp(), sets[0], sets[1], config, **kw)


def strip_time(metrics):
    return [{k: v for k, v in m.items() if "seconds" not in k} for m in metrics]


def test_short_run_learns(sets, tmp_path):
    res = run(sets, cfg(tmp_path))
    m = res.metrics
    assert [e["epoch"] for e in m] == [1, 2, 3]
    assert m[-1]["train_loss"] < 0.6 * m[0]["train_loss"]
    assert m[-1]["test_acc"] > 0.6  # chance is 0.1
    assert m[0]["lr"] == pytest.approx(3e-3) and m[2]["lr"] == pytest.approx(3e-3 * 0.25)
    ev = evaluate(res.model, sets[1])
    assert ev.accuracy == pytest.approx(m[-1]["test_acc"]) and ev.n == 256
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["epochs"] == m and on_disk["best_epoch"] == res.best_epoch
    assert not torch.are_deterministic_algorithms_enabled()  # global setting restored


def test_same_seed_same_result_and_different_seed_differs(sets):
    a, b = run(sets, cfg(epochs=2)), run(sets, cfg(epochs=2))
    assert strip_time(a.metrics) == strip_time(b.metrics)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    c = run(sets, cfg(epochs=2, seed=1))
    assert strip_time(c.metrics) != strip_time(a.metrics)


def assert_same_weights(m1, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k], s2[k]), k


def test_resume_after_interruption_matches_uninterrupted(sets, tmp_path):
    full = run(sets, cfg(tmp_path / "full"))
    part = run(sets, cfg(tmp_path / "part"), on_epoch_end=lambda m: m["epoch"] == 1)
    assert part.stopped_early and len(part.metrics) == 1
    # a fresh process would build a fresh model; its init (different seed here) is overwritten by the checkpoint
    seed_everything(99)
    resumed = train(mlp(), *sets, cfg(tmp_path / "part", resume=tmp_path / "part" / "last.pt"))
    assert_same_weights(full.model, resumed.model)
    assert strip_time(resumed.metrics) == strip_time(full.metrics)
    saved = json.loads((tmp_path / "part" / "metrics.json").read_text())["epochs"]
    assert strip_time(saved) == strip_time(full.metrics)


def test_extending_a_finished_run_matches_longer_run(sets, tmp_path):
    two = run(sets, cfg(epochs=2))
    run(sets, cfg(tmp_path, epochs=1))
    more = run(sets, cfg(tmp_path, epochs=2, resume=tmp_path / "last.pt"))
    assert_same_weights(two.model, more.model)
    with pytest.raises(TrainError, match="already finished 2 epochs"):
        run(sets, cfg(tmp_path, epochs=2, resume=tmp_path / "last.pt"))


def test_checkpoint_contents_and_rebuild(tmp_path):
    from bnn.topologies import make_spec, from_spec

    spec = make_spec("tfc", 1, 1, width=0.25)
    seed_everything(0)
    model = from_spec(spec)
    tr, te = ImageDataset(synthetic(128, seed=2)), ImageDataset(synthetic(64, seed=3, split="test"))
    res = train(model, tr, te, cfg(tmp_path, epochs=2), model_spec=spec.to_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt", "metrics.json"]  # no temp files
    ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["epoch"] == 2 and ck["model_spec"] == spec.to_dict()
    assert ck["preprocess"] == {"range": "unit", "pad_to": None, "channels": None}
    assert ck["config"]["epochs"] == 2 and ck["config"]["seed"] == 0
    assert ck["dataset"] == {"name": "synthetic", "train_size": 128, "test_size": 64, "sample_shape": [1, 28, 28]}
    assert {"torch", "loader", "numpy", "python"} <= set(ck["rng"])
    assert ck["env"] == {"torch": torch.__version__, "threads": 1}
    assert ck["optimizer_state"]["state"] and ck["scheduler_state"]["schedule"] == "cosine"
    assert strip_time(ck["metrics"]) == strip_time(res.metrics)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == res.best_epoch
    assert res.best["test_acc"] == max(m["test_acc"] for m in res.metrics)
    rebuilt = model_from_checkpoint(tmp_path / "last.pt")
    x = torch.rand(5, 1, 28, 28)
    assert torch.equal(rebuilt(x), res.model.eval()(x))


def test_refuses_to_overwrite_and_bad_checkpoints(sets, tmp_path):
    run(sets, cfg(tmp_path, epochs=1))
    with pytest.raises(TrainError, match="already holds a run"):
        run(sets, cfg(tmp_path, epochs=1))
    with pytest.raises(TrainError, match="no such checkpoint"):
        run(sets, cfg(tmp_path / "b", resume=tmp_path / "missing.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainError, match="junk.pt: not a readable checkpoint"):
        run(sets, cfg(tmp_path / "c", resume=tmp_path / "junk.pt"))
    seed_everything(0)
    wrong = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with pytest.raises(TrainError, match="does not fit this model"):
        train(wrong, *sets, cfg(tmp_path / "d", resume=tmp_path / "last.pt"))


def test_bad_config_and_divergence(sets):
    with pytest.raises(TrainError, match="schedule must be one of"):
        run(sets, cfg(schedule="linear"))
    with pytest.raises(TrainError, match="epochs must be >= 1.*lr must be a positive"):
        run(sets, cfg(epochs=0, lr=-1.0))

    class Nan(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, x):
            return self.lin(x.flatten(1)) * math.nan

    with pytest.raises(TrainError, match="loss became nan at epoch 1, batch 1"):
        train(Nan(), *sets, cfg())


def test_lr_schedules():
    c = TrainConfig(epochs=4, lr=1.0, schedule="cosine")
    assert [lr_factor(e, c) for e in range(4)] == pytest.approx([1.0, 0.853553, 0.5, 0.146447], abs=1e-6)
    s = TrainConfig(epochs=6, schedule="step", gamma=0.5)
    assert [lr_factor(e, s) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert lr_factor(5, TrainConfig(schedule="none")) == 1.0


def test_batchnorm_recalibration_uses_current_weights_and_restores_state(sets):
    """The running statistics become the average of the per-batch mean/variance of the BatchNorm's input over the
    first batches, everything else in eval mode; momentum and the train/eval mode come back as they were."""
    train_set, _ = sets
    model = mlp()
    bn = model[2]
    bn.running_mean.fill_(5.0), bn.running_var.fill_(9.0)
    model.train()
    recalibrate_batchnorm(model, train_set, batches=2, batch_size=64)
    x, _ = train_set[list(range(128))]
    with torch.no_grad():
        h = model[1](model[0](x))
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, (h[:64].var(0) + h[64:].var(0)) / 2, rtol=1e-4)
    assert bn.momentum == 0.1 and model.training and bn.training
    with pytest.raises(TrainError, match="bn_recalibration_batches"):
        TrainConfig(bn_recalibration_batches=-1).validate()
