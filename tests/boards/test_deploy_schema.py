"""deploy.json damaged or tampered with: an AcceleratorError naming the file and the field, never a traceback
or silently mis-packed frames."""
import json
import shutil

import pytest

from boards.runtime import Accelerator, AcceleratorError
from boards.runtime.deployment import Deployment


def write(tfc_deploy, tmp_path, change):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    meta = json.loads((d / "deploy.json").read_text())
    (d / "deploy.json").write_text(json.dumps(change(meta)))
    return d


def setter(side, key, value):
    def change(meta):
        meta[side][key] = value
        return meta
    return change


@pytest.mark.parametrize("side,key,value,expect", [
    ("input", "elems_per_word", -5, r"field input\.elems_per_word: -5 is less than the minimum of 1"),
    ("output", "axi_bytes", -5, r"field output\.axi_bytes: -5 is not one of"),
    ("input", "words_per_frame", -5, r"field input\.words_per_frame: -5 is less than the minimum of 1"),
    ("input", "words_per_frame", "16", r"field input\.words_per_frame: '16' is not of type 'integer'"),
    ("control", "num_frames_offset", 1.5, r"field control\.num_frames_offset: 1\.5 is not of type 'integer'"),
    ("ip", "dma", "__class__", r"field ip\.dma: '__class__' does not match"),
    ("dma", "max_transfer_bytes", 0, r"field dma\.max_transfer_bytes: 0 is less than the minimum of 1"),
])
def test_bad_field_values(tfc_deploy, tmp_path, side, key, value, expect):
    d = write(tfc_deploy, tmp_path, setter(side, key, value))
    with pytest.raises(AcceleratorError, match=expect) as e:
        Deployment.load(d)
    assert "deploy.json" in str(e.value)


@pytest.mark.parametrize("key", ["elems_per_word", "axi_bytes", "words_per_frame", "word_bytes"])
def test_packing_fields_are_cross_checked_with_the_graph(tfc_deploy, tmp_path, key):
    meta = json.loads((tfc_deploy / "deploy.json").read_text())
    other = {"axi_bytes": 64 if meta["input"]["axi_bytes"] != 64 else 32}.get(key, meta["input"][key] * 2)
    d = write(tfc_deploy, tmp_path, setter("input", key, other))
    with pytest.raises(AcceleratorError, match=rf"field input\.{key} = {other} disagrees with graph\.json"):
        Deployment.load(d)


def _rtl_control(meta, keep_ctrl=True):
    meta["control"] = {"interface": "axi_gpio", "num_frames_offset": 0}
    meta["ip"] = {"dma": "dma", **({"ctrl": "accel_ctrl"} if keep_ctrl else {})}
    return meta


@pytest.mark.parametrize("change,expect", [
    (lambda m: {**m, "control": {"num_frames_offset": 16}}, r"field control: 'ap_ctrl_offset' is a required property"),
    (lambda m: {**m, "control": {**m["control"], "interface": "mmio"}}, r"field control\.interface: 'mmio' is not one of"),
    (lambda m: _rtl_control(m, keep_ctrl=False), r"control interface 'axi_gpio' needs the IP cell name 'ip\.ctrl'"),
    (lambda m: {**m, "ip": {"dma": "dma"}}, r"control interface 's_axilite' needs the IP cell name 'ip\.accel'"),
])
def test_control_layout_must_be_complete(tfc_deploy, tmp_path, change, expect):
    with pytest.raises(AcceleratorError, match=expect):
        Deployment.load(write(tfc_deploy, tmp_path, change))


def test_rtl_control_layout_loads(tfc_deploy, tmp_path):
    assert Deployment.load(write(tfc_deploy, tmp_path, _rtl_control)).meta["control"]["interface"] == "axi_gpio"


def test_deploy_json_as_a_list(tfc_deploy, tmp_path):
    d = write(tfc_deploy, tmp_path, lambda meta: [meta])
    with pytest.raises(AcceleratorError, match="deploy.json: expected a JSON object, got list"):
        Accelerator(d)


def test_truncated_samples(tfc_deploy, tmp_path):
    d = shutil.copytree(tfc_deploy, tmp_path / "d")
    data = (d / "samples.npz").read_bytes()
    (d / "samples.npz").write_bytes(data[:100])
    with pytest.raises(AcceleratorError, match="samples.npz: not a samples file"):
        Deployment.load(d).samples()
