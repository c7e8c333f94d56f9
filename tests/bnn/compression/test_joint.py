import copy

import pytest
import torch
from torch import nn

from bnn.compress.joint import DistillConfig, Student, save_student, train_students
from bnn.topologies import from_spec, make_spec
from bnn.train import TrainConfig, TrainError, model_from_checkpoint


class Counting(nn.Module):
    """Wraps a teacher and counts its forward calls."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


def _teacher():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


def _students():
    out = []
    for i, w in enumerate((0.25, 0.5, 1.0)):
        spec = make_spec("tfc", 1, 1, width=w)
        torch.manual_seed(i)
        out.append(Student(f"w{w}", from_spec(spec), spec.to_dict()))
    return out


CFG = TrainConfig(epochs=1, batch_size=64, progress=False)


@pytest.mark.parametrize("kind", ["response", "feature", "both"])
def test_joint_training_updates_every_student_and_calls_teacher_once_per_batch(tiny_data, kind):
    train_set, test_set = tiny_data
    teacher = Counting(_teacher())
    studs = _students()
    before = [copy.deepcopy(s.model.state_dict()) for s in studs]
    res = train_students(studs, train_set, test_set, CFG, DistillConfig(kind), teacher)
    batches = len(train_set) // CFG.batch_size
    assert teacher.calls == batches == res.teacher_calls
    for s, b in zip(studs, before):
        changed = [k for k, v in s.model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, b[k])]
        assert changed, f"{s.name} was not updated"
    assert all(r.test_acc is not None and len(r.metrics) == 1 for r in res.students)
    assert all(p.grad is None for p in teacher.parameters())


def test_no_teacher_runs_plain_training_and_is_reproducible(tiny_data):
    train_set, test_set = tiny_data
    a = train_students(_students()[:1], train_set, test_set, CFG)
    b = train_students(_students()[:1], train_set, test_set, CFG)
    assert a.teacher_calls == 0
    assert a.students[0].metrics[0]["train_loss"] == b.students[0].metrics[0]["train_loss"]
    with pytest.raises(TrainError, match="needs a teacher"):
        train_students(_students()[:1], train_set, None, CFG, DistillConfig("response"), None)


def test_distillation_changes_the_result(tiny_data):
    """Same init and batches: the teacher's soft targets must change what the student learns."""
    train_set, _ = tiny_data
    plain = train_students(_students()[:1], train_set, None, CFG).students[0].model.state_dict()
    dist = train_students(_students()[:1], train_set, None, CFG, DistillConfig("response"), _teacher())
    dist = dist.students[0].model.state_dict()
    assert any(not torch.equal(plain[k], dist[k]) for k in plain if plain[k].dtype.is_floating_point)


def test_after_step_hook_and_saved_checkpoint_rebuilds(tiny_data, tmp_path):
    train_set, test_set = tiny_data
    seen = []
    s = _students()[0]
    s.after_step = lambda m, lr: seen.append(lr)
    r = train_students([s], train_set, test_set, CFG)
    assert len(seen) == len(train_set) // CFG.batch_size and seen[0] == CFG.lr
    save_student(tmp_path / "s.pt", s.model, s.spec, train_set, r.students[0].metrics, CFG)
    m = model_from_checkpoint(tmp_path / "s.pt")
    x = train_set[list(range(8))][0]
    s.model.eval()
    assert torch.equal(m(x), s.model(x))
