"""What the compression workflow (bnn.compress.workflow) and the student-choosing plug-ins it calls
(bnn.compress.search) share: a student to train and the workflow's error. Its own module so that neither
imports the other."""
from __future__ import annotations

from dataclasses import dataclass

from diagnostics.errors import BnncError


class CompressError(BnncError, RuntimeError):
    """The workflow cannot start or finish; the message says what to change."""


@dataclass
class StudentPlan:
    """One student to train: its name, bnnc topology spec and how it is made."""

    name: str
    spec: object          # bnn.topologies.ModelSpec
    method: str = "supernet"
