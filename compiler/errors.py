"""Errors the compiler reports to users: each names what (node/op/file) failed, why, and what to do."""
from __future__ import annotations


class CompileError(ValueError):
    """A model the compiler cannot turn into an exact dataflow graph.

    The message always carries the node name and op type (when one is to blame), the reason, and a hint,
    so a CLI can print it as is instead of a traceback.
    """

    def __init__(self, reason: str, node: str | None = None, op_type: str | None = None, hint: str | None = None):
        self.reason, self.node, self.op_type, self.hint = reason, node, op_type, hint
        where = ""
        if node is not None:
            where = f"node {node!r}" + (f" ({op_type})" if op_type else "") + ": "
        msg = where + reason + (f"\n  hint: {hint}" if hint else "")
        super().__init__(msg)

    @classmethod
    def at(cls, node, reason: str, hint: str | None = None) -> "CompileError":
        """Error blamed on an ONNX NodeProto."""
        return cls(reason, node=node.name, op_type=node.op_type, hint=hint)


class VerifyError(CompileError):
    """The compiled graph does not reproduce the QONNX model exactly."""
