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


# ---------------------------------------------------------------------------------------------------------------
# Recipe ingredients (issue 25): augmentation, warm-up, label smoothing, weight decay groups, device


def test_augment_batch_keeps_shape_and_moves_content_within_the_padding():
    from bnn.loader import augment_batch

    x = torch.zeros(64, 2, 9, 9)
    x[:, :, 4, 4] = 1.0                     # one bright pixel in the centre of every image and channel
    x[:, 1, 4, 4] = 0.5
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, 2, False, g)
    assert out.shape == x.shape and out.dtype == x.dtype
    for img in out:
        ys, xs = torch.nonzero(img[0], as_tuple=True)
        assert len(ys) == 1 and abs(int(ys) - 4) <= 2 and abs(int(xs) - 4) <= 2  # shifted by at most the padding
        assert torch.equal(torch.nonzero(img[1]), torch.nonzero(img[0])) and img[1].max() == 0.5  # channels together
    shifts = {tuple(torch.nonzero(img[0])[0].tolist()) for img in out}
    assert len(shifts) > 10                 # not always the same window (25 possible)
    assert torch.equal(augment_batch(x, 0, False, g), x)


def test_augment_batch_flip_mirrors_about_half_and_follows_the_generator():
    from bnn.loader import augment_batch

    x = torch.rand(200, 1, 5, 7)
    a = augment_batch(x, 0, True, torch.Generator().manual_seed(3))
    mirrored = torch.tensor([torch.equal(o, i.flip(2)) for o, i in zip(a, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(a, x)])
    assert bool((mirrored ^ kept).all()) and 60 < int(mirrored.sum()) < 140
    assert torch.equal(a, augment_batch(x, 0, True, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, augment_batch(x, 0, True, torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError, match="N, C, H, W"):
        augment_batch(x[0], 1, True, torch.Generator())


def test_augmented_training_keeps_labels_and_is_seeded(sets, monkeypatch):
    import bnn.train as bt

    seen = []
    real = bt.augment_batch

    def spy(x, pad, flip, gen):
        out = real(x, pad, flip, gen)
        seen.append((x.shape, out.shape))
        return out

    labels = []
    real_ce = nn.functional.cross_entropy
    monkeypatch.setattr(bt, "augment_batch", spy)
    monkeypatch.setattr(bt.nn.functional, "cross_entropy",
                        lambda out, y, **kw: (labels.append(y), real_ce(out, y, **kw))[1])
    aug = dict(epochs=2, augment_pad=3, augment_flip=True)
    a = run(sets, cfg(**aug))
    assert seen and all(i == o for i, o in seen)
    # the labels the loss sees are the dataset's, in the loader's order (augmentation changes images only)
    plain_labels = list(labels)
    labels.clear()
    run(sets, cfg(epochs=2))
    assert all(torch.equal(p, q) for p, q in zip(plain_labels, labels)) and len(plain_labels) == len(labels)
    b = run(sets, cfg(**aug))
    assert strip_time(a.metrics) == strip_time(b.metrics)
    assert_same_weights(a.model, b.model)
    c = run(sets, cfg(**aug, seed=1))
    assert strip_time(c.metrics) != strip_time(a.metrics)
    plain = run(sets, cfg(epochs=2))
    assert strip_time(plain.metrics) != strip_time(a.metrics)


def test_resume_with_augmentation_matches_uninterrupted(sets, tmp_path):
    aug = dict(augment_pad=2, augment_flip=True, warmup_epochs=1, label_smoothing=0.1)
    full = run(sets, cfg(tmp_path / "full", **aug))
    run(sets, cfg(tmp_path / "part", **aug), on_epoch_end=lambda m: m["epoch"] == 1)
    seed_everything(99)
    resumed = train(mlp(), *sets, cfg(tmp_path / "part", resume=tmp_path / "part" / "last.pt", **aug))
    assert_same_weights(full.model, resumed.model)
    assert strip_time(resumed.metrics) == strip_time(full.metrics)


def test_warmup_then_cosine():
    c = cfg(epochs=6, warmup_epochs=2, lr=1.0)
    f = [lr_factor(e, c) for e in range(6)]
    assert f[:2] == pytest.approx([1 / 3, 2 / 3])
    assert f[2:] == pytest.approx([0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])
    assert f[2] == 1.0 and f[1] < f[2]
    with pytest.raises(TrainError, match="warmup_epochs"):
        cfg(epochs=2, warmup_epochs=2).validate()
    with pytest.raises(TrainError, match="label_smoothing"):
        cfg(label_smoothing=1.0).validate()


def test_label_smoothing_changes_the_loss(sets):
    a, b = run(sets, cfg(epochs=1)), run(sets, cfg(epochs=1, label_smoothing=0.2))
    assert b.metrics[0]["train_loss"] > a.metrics[0]["train_loss"]   # smoothed targets cannot reach loss 0


def test_weight_decay_only_on_shadow_weights():
    from bnn.topologies import build
    from bnn.train import make_optimizer

    model = build("lfc", 2, 2, width=0.05)
    opt = make_optimizer(model, cfg(optimizer="adamw", weight_decay=0.01))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim == 2 for p in decay["params"]) and len(decay["params"]) == 4   # 3 hidden + head weights
    assert any("scaling" in names[id(p)] for p in no_decay["params"])                 # quantizer scales
    assert any(names[id(p)].endswith("bias") for p in no_decay["params"])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert len(make_optimizer(model, cfg()).param_groups) == 1                      # no decay: one group as before
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_cuda_without_gpu_is_refused_before_work(sets):
    with pytest.raises(TrainError, match="no CUDA GPU.*--device cpu"):
        run(sets, cfg(device="cuda"))
    with pytest.raises(TrainError, match="device must be"):
        run(sets, cfg(device="tpu"))


def test_device_is_used_for_training_and_evaluation(sets, monkeypatch):
    """The configured device reaches every batch (the model, the training batches, BN recalibration and evaluation);
    checked with 'cpu' spelt as a torch.device string, the only device this machine has."""
    import bnn.evaluate as be
    import bnn.train as bt

    moved = []
    real_to = torch.Tensor.to

    def spy(self, *a, **kw):
        target = a[0] if a else kw.get("device")
        if isinstance(target, (str, torch.device)):
            moved.append(str(target))
        return real_to(self, *a, **kw)

    monkeypatch.setattr(torch.Tensor, "to", spy)
    evaluated = []
    real_eval = be.evaluate
    monkeypatch.setattr(bt, "evaluate", lambda m, d, bs, dev: (evaluated.append(str(dev)), real_eval(m, d, bs, dev))[1])
    run(sets, cfg(epochs=1, device="cpu"))
    assert moved and set(moved) == {"cpu"} and evaluated == ["cpu"]


def test_warns_when_activation_scales_are_still_collecting_statistics():
    """k-bit activation scales (Brevitas runtime statistics) need their first 300 steps before eval mode matches
    training; a shorter run says so. Binary models have constant scales and stay silent."""
    import warnings

    from bnn.topologies import build

    tr = ImageDataset(synthetic(128, seed=2))
    seed_everything(0)
    with pytest.warns(UserWarning, match=r"saw 4 of the 300 training steps"):
        train(build("tfc", 2, 2, width=0.25), tr, None, cfg(epochs=1, batch_size=32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(build("tfc", 1, 1, width=0.25), tr, None, cfg(epochs=1, batch_size=32))
