"""Weight-shared students: a cut-out student computes exactly what the supernet computes for it, exports and
compiles exactly, and an interrupted training resumes to the same weights."""
import pytest
import torch

from bnn.compress.joint import DistillConfig, train_supernet
from bnn.compress.supernet import Supernet, cut, layout, nested
from bnn.topologies import hidden_widths, make_spec
from bnn.train import TrainConfig, TrainError

CFG = TrainConfig(epochs=1, batch_size=64, progress=False)


def _specs(name="tfc", bits=1, widths=(0.25, 0.5, 1.0), **kw):
    return [make_spec(name, bits, bits, width=w, input_bits=8, **kw) for w in widths]


@pytest.mark.parametrize("name, bits, size", [("tfc", 1, 28), ("tfc", 2, 28), ("cnv", 1, 32)])
def test_cut_out_student_equals_its_slice_of_the_supernet(name, bits, size):
    torch.manual_seed(0)
    net = Supernet(_specs(name, bits, in_size=size)).eval()
    x = torch.rand(6, 1, size, size)
    for i, spec in enumerate(net.specs):
        student = cut(net, i)
        assert [m.weight.shape[0] for m in student.modules() if hasattr(m, "weight") and m.weight is not None
                and m.weight.ndim >= 2][:-1] == hidden_widths(spec)
        assert torch.equal(net.student(i)(x), student(x))
    assert net.full_spec.hidden == hidden_widths(net.specs[-1])


def test_students_share_weights_and_own_their_batchnorm(tiny_data):
    train_set, test_set = tiny_data
    torch.manual_seed(0)
    net = Supernet(_specs(widths=(0.5, 1.0)))
    r = train_supernet(net, train_set, test_set, CFG, names=["a", "b"])
    small, big = (s.model for s in r.students)
    w_small, w_big = small[3].weight, big[3].weight          # first QuantLinear: the slice of the shared tensor
    assert torch.equal(w_small, w_big[: w_small.shape[0]])
    bn = net.body[4]
    assert not torch.equal(bn.bns[0].running_mean[:32], bn.bns[1].running_mean[:32])   # own statistics
    assert all(0.0 <= s.test_acc <= 1.0 for s in r.students)
    # trained: the supernet routed to student 0 still computes exactly its cut (before BN recalibration)
    x = train_set[list(range(8))][0]
    raw = cut(net, 0)
    assert torch.equal(net.eval().student(0)(x), raw(x))


def test_a_cut_out_student_exports_and_compiles_exactly(tiny_data, tmp_path):
    from bnn.export import check_export, export_qonnx
    from compiler.workflow.config import BuildConfig
    from compiler.workflow.pipeline import build

    train_set, test_set = tiny_data
    torch.manual_seed(0)
    net = Supernet(_specs(widths=(0.25, 1.0)))
    r = train_supernet(net, train_set, test_set, CFG, names=["s", "l"])
    model = r.students[0].model
    x = test_set[list(range(32))][0].numpy()
    onnx = export_qonnx(model, tmp_path / "s.onnx", (1, 28, 28))
    assert check_export(model, onnx, x).mismatches == 0
    res = build(onnx, BuildConfig(board="pynq-z2", target_fps=10000), tmp_path / "b", verify_inputs=x)
    import json

    assert json.loads((tmp_path / "b" / "verify.json").read_text())["output_mismatches"] == 0
    assert res.report["total"]["lut"] > 0


def test_interrupted_training_resumes_to_the_same_weights(tiny_data, tmp_path):
    train_set, test_set = tiny_data
    cfg = TrainConfig(epochs=2, batch_size=64, progress=False)

    def fresh():
        torch.manual_seed(0)
        return Supernet(_specs(widths=(0.5, 1.0)))

    ref = fresh()
    a = train_supernet(ref, train_set, None, cfg, checkpoint=tmp_path / "ref.pt")

    def stop(epoch, metrics):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(fresh(), train_set, None, cfg, checkpoint=tmp_path / "run.pt", on_epoch=stop)
    resumed = fresh()
    b = train_supernet(resumed, train_set, None, cfg, checkpoint=tmp_path / "run.pt")
    assert b.resumed_from == 1 and a.resumed_from == 0
    sa, sb = ref.state_dict(), resumed.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [m["train_loss"] for m in a.students[0].metrics] == [m["train_loss"] for m in b.students[0].metrics]


@pytest.mark.parametrize("mode", ["replicate", "anchor"])
def test_replicate_and_anchor_modes_with_and_without_a_teacher_on_cpu(tiny_data, mode):
    train_set, _ = tiny_data
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    net = Supernet(_specs(widths=(0.25, 0.5, 1.0)))
    cfg = TrainConfig(epochs=1, batch_size=64, progress=False, device="cpu")
    r = train_supernet(net, train_set, None, cfg, DistillConfig("response"), teacher, mode=mode)
    assert r.teacher_seconds > 0 and all(p.device.type == "cpu" for p in net.parameters())
    r = train_supernet(net, train_set, None, cfg, mode=mode)      # inplace distillation from the widest
    assert all(m["train_loss"] > 0 for s in r.students for m in s.metrics)
    with pytest.raises(TrainError, match="feature distillation"):
        train_supernet(net, train_set, None, cfg, DistillConfig("feature"), teacher)


def test_layout_and_nesting_rules():
    x, y = torch.zeros(10, 3), torch.zeros(10, dtype=torch.long)
    b = layout(x, y, None, 3, "split")
    assert sum(k for _, k in b.blocks) == 10 and all(k >= 2 for _, k in b.blocks)
    assert [k for _, k in layout(x, y, None, 2, "split", [1, 4]).blocks] == [2, 8]
    r = layout(x, y, None, 3, "replicate")
    assert len(r.x) == 10 and len(r.y) == 30 and r.replicas == 3 and r.blocks == [(0, 10), (1, 10), (2, 10)]
    a = layout(x, y, None, 3, "anchor", widest=2)
    assert len(a.y) == 20 and a.replicas == 2 and a.blocks[0] == (2, 10) and sorted(i for i, _ in a.blocks[1:]) == [0, 1]
    assert sum(k for _, k in a.blocks[1:]) == 10
    with pytest.raises(ValueError, match="cannot give each"):
        layout(x[:4], y[:4], None, 3, "split")
    with pytest.raises(ValueError, match="differ only in their widths"):
        nested([make_spec("tfc", 1, 1), make_spec("tfc", 2, 2)])
    with pytest.raises(ValueError, match="weight-shared students need"):
        nested([make_spec("mobilenet", 4, 4)])
    assert nested([make_spec("tfc", 1, 1, hidden=[8, 64, 16]), make_spec("tfc", 1, 1, hidden=[32, 8, 8])]).hidden \
        == [32, 64, 16]


@pytest.mark.parametrize("name, size", [("tfc", 28), ("cnv", 32)])
def test_replicas_share_the_first_layer_with_identical_outputs_and_gradients(name, size):
    torch.manual_seed(0)
    net = Supernet(_specs(name, 1, in_size=size)).train()
    x = torch.rand(6, 1, size, size)
    net.router.blocks = [(0, 6), (1, 6), (2, 6)]
    full = net(x.repeat(3, 1, 1, 1))
    full.square().sum().backward()
    g_full = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    shared = net(x, replicas=3)
    shared.square().sum().backward()
    assert torch.equal(full, shared)
    # the same sums in another order: equal up to float32 rounding
    assert all(torch.allclose(a, p.grad, rtol=1e-5, atol=1e-5 * float(a.abs().max()))
               for a, p in zip(g_full, net.parameters()))


def test_a_learned_input_scale_is_copied_and_the_saved_student_reloads(tiny_data, tmp_path):
    """An 8-bit input quantizer learns its scale from statistics of its first training steps (Brevitas: 30):
    the cut-out student must carry it, and its checkpoint must rebuild the same model."""
    from bnn.compress.joint import save_student
    from bnn.train import model_from_checkpoint

    train_set, _ = tiny_data
    torch.manual_seed(0)
    net = Supernet(_specs(widths=(0.5, 1.0)))
    r = train_supernet(net, train_set, None, TrainConfig(epochs=1, batch_size=8, progress=False))
    assert any(k.endswith("scaling_impl.value") for k in net.state_dict())      # the scale was learned
    x = train_set[list(range(8))][0]
    for i, s in enumerate(r.students):
        raw = cut(net, i)
        assert torch.equal(net.eval().student(i)(x), raw(x))
        save_student(tmp_path / f"{i}.pt", s.model, s.spec, train_set, s.metrics)
        assert torch.equal(model_from_checkpoint(tmp_path / f"{i}.pt")(x), s.model(x))
