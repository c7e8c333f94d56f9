"""`bnnc compress`'s training items as scaleout tasks (bnn.compress.workflow.train_item, search.train_candidate):
the same students in this process and in a pool of fresh processes, search candidates trained one per task equal to
trained together, and an interrupted run keeps the students that finished."""
import hashlib
import json

import pytest
import torch

from bnn.compress.search import _train
from bnn.compress.workflow import CompressConfig, run
from bnn.topologies import make_spec
from bnn.train import TrainConfig


def _digest(state: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode() + state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def test_a_candidate_trained_alone_equals_it_trained_with_the_others(tiny_data):
    """What lets the search's proxy candidates be one task each: candidate i alone (seed index i) is bit-identical
    to candidate i of the joint run."""
    train_set, val_set = tiny_data
    specs = {"a": make_spec("tfc", 1, 1, hidden=[16, 16, 16], input_bits=8),
             "b": make_spec("tfc", 2, 1, hidden=[24, 16, 8], input_bits=8)}
    tcfg = TrainConfig(epochs=1, batch_size=64, progress=False)
    joint = _train(specs, train_set, val_set, tcfg, 1, 3)
    alone = {"a": _train({"a": specs["a"]}, train_set, val_set, tcfg, 1, 3)["a"],
             "b": _train({"b": specs["b"]}, train_set, val_set, tcfg, 1, 3, first_index=1)["b"]}
    for k in specs:
        assert _digest(alone[k].model.state_dict()) == _digest(joint[k].model.state_dict())
        assert alone[k].test_acc == joint[k].test_acc
    # and the index matters: candidate b seeded as index 0 is another model
    other = _train({"b": specs["b"]}, train_set, val_set, tcfg, 1, 3)["b"]
    assert _digest(other.model.state_dict()) != _digest(joint["b"].model.state_dict())


def _cfg(**kw) -> CompressConfig:
    base = dict(teacher="tfc", teacher_epochs=1, dataset="synthetic", limit=256, student="tfc", widths=(0.25, 0.5),
                joint="separate", epochs=1, batch_size=64, verify_samples=32, board="pynq-z2", target_fps=5000,
                threads=1, progress=False, deploy=False)
    base.update(kw)
    return CompressConfig(**base)


def _outcome(out) -> dict:
    fam = json.loads((out / "family.json").read_text().replace(str(out), "OUT"))
    fam["config"].pop("workers")
    fam["training"].pop("seconds")
    states = {s["name"]: _digest(torch.load(out / "students" / s["name"] / "student.pt",
                                            weights_only=True)["model_state"]) for s in fam["students"]}
    return {"family": fam, "states": states}


def test_separate_and_derived_students_identical_in_process_and_in_a_pool(tmp_path, capfd):
    """Two separate students and a low-rank one derived from the widest: one training item each, in this process
    (the default) and in a pool of two fresh processes (--workers 2): the same state dicts and family.json."""
    cfg = _cfg(methods=("distill", "lowrank"), rank=8)
    run(cfg, tmp_path / "in_process", log=lambda m: None)
    err = capfd.readouterr().err
    assert "training students: 2 items on local executor, in-process" in err
    assert "training derived students: 1 items on local executor, in-process" in err
    run(CompressConfig(**{**cfg.to_dict(), "workers": 2}), tmp_path / "pool", log=lambda m: None)
    err = capfd.readouterr().err
    assert "training students: 2 items on local executor, pool of 2 processes" in err
    local, pool = _outcome(tmp_path / "in_process"), _outcome(tmp_path / "pool")
    assert [s["name"] for s in local["family"]["students"]] == ["tfc-x0.25", "tfc-x0.5", "lowrank-r8"]
    assert [s["method"] for s in local["family"]["students"]] == ["separate", "separate", "lowrank"]
    assert local["family"]["training"]["mode"] == "separate"
    assert pool["states"] == local["states"]                   # bit-identical students
    assert pool["family"] == local["family"]                   # accuracies, estimates, verification


def test_an_interrupted_separate_training_keeps_the_finished_student(tmp_path, monkeypatch):
    from bnn.compress import workflow

    real = workflow._train_separate_item

    def interrupted(job, *a):
        if job["name"] == "tfc-x0.5":
            raise KeyboardInterrupt
        return real(job, *a)

    monkeypatch.setattr(workflow, "_train_separate_item", interrupted)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run(_cfg(), out, log=lambda m: None)
    first = out / "students" / "tfc-x0.25" / "student.pt"
    assert first.is_file() and (first.parent / "trained.json").is_file()
    assert not (out / "students" / "tfc-x0.5").exists()          # nothing half-written
    stamp = first.stat().st_mtime_ns
    monkeypatch.setattr(workflow, "_train_separate_item", real)
    log = []
    fam = run(_cfg(), out, log=log.append)
    assert first.stat().st_mtime_ns == stamp                      # the finished student was not retrained
    assert [m for m in log if m.startswith("trained ")] == [m for m in log if m.startswith("trained tfc-x0.5 alone")]
    assert len([m for m in log if m.startswith("trained ")]) == 1
    assert [s.error for s in fam.students] == [None, None]


def test_search_candidates_as_items_in_a_pool_equal_the_joint_proxy_run(tmp_path, capfd):
    """The runner `bnnc compress --search` gives the search: each candidate a task in a pool of fresh processes
    (data reloaded there from the config), its validation accuracy that of the joint in-driver run, each written to
    OUT/search_items as it finishes and skipped on a rerun."""
    from bnn.compress.search import _holdout, _proxy_runner
    from bnn.compress.items import load_data, train_config
    from bnn.compress.plan import Context
    from scaleout import LocalExecutor

    cfg = _cfg()
    train_set, test_set, _ = load_data(cfg)
    specs = {"a": make_spec("tfc", 1, 1, hidden=[16, 16, 16], input_bits=8),
             "b": make_spec("tfc", 2, 1, hidden=[24, 16, 8], input_bits=8)}
    tr, val = _holdout(train_set)
    tcfg = train_config(cfg)
    joint = _train(specs, tr, val, tcfg, 1, 5)
    with LocalExecutor(2) as ex:
        ctx = Context(cfg, train_set, test_set, None, (1, 28, 28), 10, tmp_path, lambda m: None, None, ex)
        accs = _proxy_runner(ctx)(specs, 1, 5)
        assert "search candidates: 2 items on local executor, pool of 2 processes" in capfd.readouterr().err
        assert accs == {k: r.test_acc for k, r in joint.items()}
        assert len(list((tmp_path / "search_items").glob("*.json"))) == 2
        assert _proxy_runner(ctx)(specs, 1, 5) == accs
        assert "2 of 2 items already done" in capfd.readouterr().err


def test_items_declare_their_threads_and_gpu(tmp_path):
    """What a training item asks Ray for: num_cpus its threads (--threads, else 1 off-process), one GPU with
    --device cuda, which on Ray becomes plain 'cuda' (the task sees only the GPU Ray gave it)."""
    from types import SimpleNamespace

    from bnn.compress.items import item_settings, item_task
    from bnn.compress.plan import Context
    from bnn.compress.workflow import train_item
    from scaleout import LocalExecutor

    def settings(ex, **kw):
        ctx = Context(_cfg(**kw), None, None, None, (1, 28, 28), 10, tmp_path, print, None, ex)
        return item_settings(ctx)

    ray = SimpleNamespace(name="ray")
    assert settings(LocalExecutor(1), threads=None)["threads"] is None          # in-process: torch as it is
    assert settings(LocalExecutor(2), threads=None)["threads"] == 1
    s = settings(ray, threads=3, device="cuda:1")
    assert (s["threads"], s["device"]) == (3, "cuda")
    t = item_task("x", train_item, s)
    assert (t.num_cpus, t.num_gpus) == (3.0, 1.0)
    t = item_task("y", train_item, settings(ray, threads=None))
    assert (t.num_cpus, t.num_gpus) == (1.0, 0.0)


def test_derived_students_are_priced_with_the_flow_they_are_built_for(tmp_path, monkeypatch):
    """A pruned student is fitted to its budget with the prices of the flow the family is built with (--rtl: the RTL
    library's, else the HLS templates'); one saved with another flow's prices is refitted on a rerun."""
    import bnn.compress.prune as prune

    real, seen = prune.prune_to_budget, []

    def recording(*a, **k):
        seen.append(k.get("flow"))
        return real(*a, **k)

    monkeypatch.setattr(prune, "prune_to_budget", recording)
    out = tmp_path / "fam"
    cfg = _cfg(widths=(0.5,), methods=("distill", "prune"), lut_budget=20000)
    run(cfg, out, log=lambda m: None)
    assert seen == [cfg.flow] == ["hls"]
    assert json.loads((out / "students" / "prune" / "trained.json").read_text())["fit"]["flow"] == "hls"
    run(cfg, out, log=lambda m: None)                      # priced for this flow: kept
    assert seen == ["hls"]
    doc = json.loads((out / "students" / "prune" / "trained.json").read_text())
    doc["fit"]["flow"] = "rtl"                             # as if fitted for --rtl
    (out / "students" / "prune" / "trained.json").write_text(json.dumps(doc))
    run(cfg, out, log=lambda m: None)
    assert seen == ["hls", "hls"]
    assert CompressConfig(rtl=True).flow == "rtl"
