"""Compressing a user's model into bnnc students (after Learn2Compress, MorphNet and the BNN literature).

`run(CompressConfig, out_dir) -> Family` is the workflow (bnn.compress.workflow; `bnnc compress` is its CLI).
One job per module: `teacher` (load the frozen teacher: ONNX, checkpoint, user code), `supernet` (weight-shared
nested-width students, cut out as ordinary models), `joint` (train students together, one teacher forward per
batch), `student_build` (export, compile --verify, rtlsim, synth of one student), `family` (family.json, plot,
table), `hooks` (capture intermediate features), `losses` (distillation losses), `hwcost` (the compiler's cost
model as a function of a model or of its layer widths), `surgery` (keep a subset of channels), `morphnet`
(cost-weighted L1 width search), `prune` (magnitude baseline), `lowrank` (SVD factorisation of FC layers),
`pareto` (accuracy-vs-LUT front and plot).
"""
_WORKFLOW = ("run", "CompressConfig", "CompressError", "StudentPlan", "Context", "choose_students")


def __getattr__(name: str):
    """bnn.compress.run etc., imported on first use (importing a single submodule stays light)."""
    if name in _WORKFLOW:
        from bnn.compress import workflow

        return getattr(workflow, name)
    if name in ("Family", "StudentEntry"):
        from bnn.compress import family

        return getattr(family, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
