"""One error hierarchy for everything bnnc reports to users.

`BnncError` carries the context a message needs (file, node, field) so a CLI prints it as is instead of a
traceback. The historical classes stay as subclasses (CompileError, IRError, FoldingError, AcceleratorError,
BoardError, DatasetError, ...), so callers catching them keep working and a CLI can catch the base once.
The base derives from ValueError because most of its subclasses always did (catching ValueError keeps working).
"""
from __future__ import annotations


class BnncError(ValueError):
    """A user-facing error; `file`, `node` and `field` (when known) say where, the message says why."""

    def __init__(self, message: str = "", *, file: str | None = None, node: str | None = None,
                 field: str | None = None, hint: str | None = None):
        self.file, self.node, self.field, self.hint = file, node, field, hint
        where = []
        if file is not None:
            where.append(str(file))
        if node is not None:
            where.append(f"node {node!r}")
        if field is not None:
            where.append(f"field {field!r}")
        text = (": ".join(where) + ": " if where else "") + str(message)
        super().__init__(text + (f"\n  hint: {hint}" if hint else ""))


class CompileError(BnncError):
    """A model the compiler cannot turn into an exact dataflow graph.

    The message always carries the node name and op type (when one is to blame), the reason, and a hint,
    so a CLI can print it as is instead of a traceback.
    """

    def __init__(self, reason: str, node: str | None = None, op_type: str | None = None, hint: str | None = None,
                 *, file: str | None = None, field: str | None = None):
        self.reason, self.op_type = reason, op_type
        where = ""
        if node is not None:
            where = f"node {node!r}" + (f" ({op_type})" if op_type else "") + ": "
        super().__init__(where + reason, file=file, field=field, hint=hint)
        self.node = node

    @classmethod
    def at(cls, node, reason: str, hint: str | None = None) -> "CompileError":
        """Error blamed on an ONNX NodeProto."""
        return cls(reason, node=node.name, op_type=node.op_type, hint=hint)


class VerifyError(CompileError):
    """The compiled graph does not reproduce the QONNX model exactly."""


class IRError(BnncError):
    """An IR graph or file that breaks the contract in docs/ir.md."""
