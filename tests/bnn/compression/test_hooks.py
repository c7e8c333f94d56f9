import pytest
import torch
from torch import nn

from bnn.compress.hooks import FeatureTap, last_module, last_weighted
from bnn.topologies import from_spec, make_spec


def test_taps_capture_the_hint_layers_of_student_and_teacher():
    student = from_spec(make_spec("tfc", 1, 1, width=0.25))
    name = last_module(student, nn.BatchNorm1d)
    tap = FeatureTap(student, name)
    assert tap.dim(student, (1, 28, 28)) == 16
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(784, 40), nn.ReLU(), nn.Linear(40, 10))
    t_tap = FeatureTap(teacher, last_weighted(teacher), side="in")
    assert last_weighted(teacher) == "3"
    assert t_tap.dim(teacher, (1, 28, 28)) == 40
    tap.remove()
    student(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="no submodule"):
        FeatureTap(teacher, "nope")
