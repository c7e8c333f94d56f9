"""Lowering a branch: a quantized tensor read by two paths that meet again at an Add (a residual block) or a
Concat along channels (an Inception block, a DenseNet / U-Net skip).

The branching tensor becomes a DuplicateStreams layer; each branch is lowered as usual (it may branch again);
the Add of the two branch tensors plus its float ops and activation quantizer becomes an AddStreams layer
(docs/ir.md "Streams"), a Concat a ConcatStreams layer (its inputs put on the smaller scale by shifts). With a power-of-two ratio between the branch scales s0, s1 and s = min(s0, s1), QONNX's
float32 sum x0*s0 + x1*s1 equals ((x0 << k0) + (x1 << k1)) * s exactly while it stays below 2^24 units, so the
float ops and quantizer after the Add become thresholds on that integer sum (compiler.frontend.thresholds).
"""
from __future__ import annotations

import math

import numpy as np

from diagnostics.errors import CompileError
from compiler.frontend.quantizers import const_value, range_dtype, read_quant
from compiler.frontend.state import State
from compiler.frontend.thresholds import chain_to_quantizer, level_function, search_thresholds
from compiler.ir.graph import Layer, dtype

CHAIN_OPS = ("Mul", "Add", "Sub", "Div", "BatchNormalization", "Relu")


def is_residual_add(lw, node) -> bool:
    """An Add whose two inputs are both computed tensors (not a constant bias)."""
    return node.op_type == "Add" and len(node.input) == 2 and all(const_value(lw.model, t) is None for t in node.input)


def is_join(lw, node) -> bool:
    """Where two branches meet: a residual Add or a Concat (of two or more tensors: torch.cat of a one-tensor
    list, as a DenseNet block's first layer writes it, is an Identity)."""
    return is_residual_add(lw, node) or (node.op_type == "Concat" and len(node.input) > 1)


def lower_branches(lw, st, consumers, walk) -> object:
    """DuplicateStreams for `st`, every branch, and the AddStreams / ConcatStreams where they meet; returns the State
    after the last join. N > 2 branches (an Inception block's towers) get a chain of N - 1 DuplicateStreams, and a
    Concat of N of them N - 1 two-input ConcatStreams (_lower_concat); branches may meet at several joins, nested or
    crossing (_resolve_joins), and joins that also need branches of an enclosing branch point go up to it
    (PendingJoins). `walk` is compiler.frontend.lower.walk, passed in (it lowers each branch and calls back here for
    nested ones)."""
    shape = st.ir_shape
    c = shape[-1]
    n = len(consumers)
    base = f"{st.tensor}_dup".replace(" ", "_")
    outs = []
    for i in range(n - 1):                 # dup i: branch i and the stream for the rest
        dup_name = base if i == 0 else f"{base}{i}"
        dup = Layer(dup_name, "DuplicateStreams", shape, shape, st.dtype, st.dtype,
                    attrs={"num_channels": c, "num_vectors": math.prod(shape) // c},
                    outputs=[f"{dup_name}:0", f"{dup_name}:1"])
        lw.add(dup)
        outs.append(dup.outputs[0])
        lw.cur = dup.outputs[1]
    outs.append(lw.cur)
    groups: dict[str, tuple[object, list]] = {}
    for b, node in enumerate(consumers):
        lw.cur = outs[b]
        if is_join(lw, node):                                         # the skip connection itself
            _put(groups, node, (st, lw.cur))
            continue
        try:
            bst, add, out = walk(lw, _copy(st), first=node)
        except PendingJoins as p:                  # joins of this branch that also need the other branches
            _merge(groups, p.groups)
            continue
        if add is None:
            raise CompileError.at(node, f"the branches from tensor {st.tensor!r} do not meet again at an Add",
                                  hint="only residual blocks (two branches summed by one Add) and branches "
                                  "concatenated by one Concat are supported")
        _put(groups, add, (bst, lw.cur))
    join, ends = _resolve_joins(lw, st, groups, walk)
    if join.op_type == "Concat":
        return _lower_concat(lw, join, ends)
    if len(ends) > 2:
        raise CompileError.at(join, f"tensor {st.tensor!r} branches into {len(ends)} paths that meet at an Add; "
                              "only two branches can be summed")
    return _lower_add(lw, join, ends)


class PendingJoins(CompileError):
    """Branch ends at joins that also need tensors from an enclosing branch point (a DenseNet block: y1 = f(x) feeds
    cat(x, y1) and cat(x, y1, y2)): raised to the lower_branches of that branch point, which lowers each join once
    all its inputs have arrived. Uncaught, it is the error naming the joins."""

    def __init__(self, groups: dict, tensor: str):
        names = sorted(groups)
        node = groups[names[0]][0]
        super().__init__(f"the branches from tensor {tensor!r} end at joins ({', '.join(repr(k) for k in names)}) "
                         "whose other inputs come from no enclosing branch point", node=node.name,
                         op_type=node.op_type, hint="joins must combine branches of one quantized tensor (which may "
                         "branch again inside, as in Inception-ResNet or DenseNet blocks)")
        self.groups = groups


def _put(groups: dict, node, end) -> None:
    groups.setdefault(node.name, (node, []))[1].append(end)


def _merge(groups: dict, more: dict) -> None:
    for node, ends in more.values():
        for e in ends:
            _put(groups, node, e)


def _resolve_joins(lw, st, groups: dict, walk):
    """(join, its ends) where all branches of `st` finally meet. Joins that all their inputs reach are lowered one
    by one, the walk going on from each to the next join (nested joins: x + cat(towers of x); a DenseNet block's
    cat(x, y1) before cat(x, y1, y2)); PendingJoins when the joins left need inputs from further up. `walk` as in
    lower_branches."""
    while True:
        complete = [k for k, (node, es) in groups.items() if len(es) == len(node.input)]
        if len(groups) == 1 and complete:
            node, es = groups[complete[0]]
            return node, es
        if not complete:
            raise PendingJoins(groups, st.tensor)
        node, es = groups.pop(complete[0])
        joined = _lower_concat(lw, node, es) if node.op_type == "Concat" else _lower_add(lw, node, es)
        try:
            bst, nxt, out = walk(lw, joined)
        except PendingJoins as p:
            _merge(groups, p.groups)
            continue
        if nxt is None:
            raise CompileError.at(node, f"the branches from tensor {st.tensor!r} do not meet again after {node.name!r}")
        _put(groups, nxt, (bst, lw.cur))


def _copy(st):
    from dataclasses import replace

    return replace(st)


def _branch_states(add, ends):
    by_tensor = {e[0].tensor: e for e in ends}
    if len(add.input) != len(ends) or (add.op_type != "Concat" and len(add.input) != 2):
        raise CompileError.at(add, f"{add.op_type} of {len(add.input)} tensors at the end of {len(ends)} branches",
                              hint="concatenate the towers of one branch point in one Concat")
    try:
        return [by_tensor[t] for t in add.input]
    except KeyError:
        raise CompileError.at(add, f"inputs {list(add.input)} are not the ends of the branches "
                              f"{sorted(by_tensor)}") from None


def _shifts(add, scales: list[float], what: str) -> list[int]:
    """k_j with scale_j = min(scales) * 2^k_j exactly; CompileError naming the node where none exists."""
    s = min(scales)
    k = [math.log2(v / s) for v in scales] if s > 0 else [0.5]
    if s <= 0 or any(abs(v - round(v)) > 0 or v > 16 for v in k):
        raise CompileError.at(add, f"the two branch scales {scales} do not differ by a power of two (at most 2^16), "
                              f"so {what}", hint="quantize both branches with the same (power-of-two) scale")
    return [int(round(v)) for v in k]


def _lower_concat(lw, node, ends):
    """ConcatStreams for a Concat along channels of N branch ends; returns the State after it. QONNX's Concat
    moves float values x_j * s_j unchanged, so with s = the smaller scale the output is (x_j << k_j) * s exactly;
    for scales in another integer ratio s_j = m_j * g, it is (x_j * m_j) * g exactly (integer multipliers `mult`).
    N > 2 inputs become a right-nested chain of two-input ConcatStreams (the channel order is kept)."""
    from onnx import helper

    parts = _branch_states(node, ends)
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    rank = len(parts[0][0].qshape) + 1
    shapes = [p[0].qshape for p in parts]
    if not all(p[0].spatial for p in parts) or int(a.get("axis", 1)) % rank != 1:
        raise CompileError.at(node, f"Concat along axis {a.get('axis')} of tensors {shapes}; "
                              "only the channel axis (1) of feature maps is supported")
    if len({(p[0].img[1:], p[0].nd) for p in parts}) != 1:
        raise CompileError.at(node, f"concatenates feature maps of shapes {shapes}")
    # N inputs: x0 ++ (x1 ++ (... ++ x{N-1})), N - 1 two-input layers; only the last one is QONNX's tensor
    cur = parts[-1]
    for j in range(len(parts) - 2, -1, -1):
        name = f"{node.name}_concat" + (f"{j}" if j else "")
        cur = _concat_pair(lw, node, parts[j], cur, name, node.output[0] if j == 0 else f"{name}:out")
    return cur[0]


def _concat_pair(lw, node, end0, end1, name: str, tensor: str):
    """One ConcatStreams `name` of two branch ends (State, stream); returns (State, stream) after it, recorded
    for verification when `tensor` is the Concat's own output."""

    (s0, in0), (s1, in1) = end0, end1
    scales = [s0.scale, s1.scale]
    what = "their concatenation is not an integer multiple of one scale"
    mult, unit = [1, 1], min(scales)
    try:
        k = _shifts(node, scales, what)
    except CompileError:             # another exact integer ratio: multipliers (compiler.frontend.scaled_add)
        from compiler.frontend.scaled_add import exact_multipliers

        mult, unit = exact_multipliers(node, scales, what)
        k = [0, 0]                   # (exact: no note, the layer's `mult` says how)
    if (any(k) or mult != [1, 1]) and "BIPOLAR" in (s0.dtype, s1.dtype):
        raise CompileError.at(node, "concatenates a BIPOLAR branch with a branch of another scale")
    d = [dtype(s0.dtype), dtype(s1.dtype)]
    f = [m << kj for m, kj in zip(mult, k)]
    if s0.dtype == s1.dtype == "BIPOLAR":
        out_dt = "BIPOLAR"
    else:
        lo = min(0, *(int(dj.min()) * fj for dj, fj in zip(d, f)))
        hi = max(0, *(int(dj.max()) * fj for dj, fj in zip(d, f)))
        out_dt = range_dtype(lo, hi)
    c0, c1 = s0.img[0], s1.img[0]
    shape0 = s0.ir_shape
    out_shape = (*shape0[:-1], c0 + c1)
    lay = Layer(name, "ConcatStreams", shape0, out_shape, s0.dtype, out_dt,
                attrs={"channels": [c0, c1], "num_vectors": math.prod(shape0[:-1]), "in1_dtype": s1.dtype,
                       "shift": k, **({"mult": mult} if mult != [1, 1] else {})}, inputs=[in0, in1])
    lw.add(lay)
    _, h, w = s0.img
    qshape = (c0 + c1, h, w) if s0.nd == 2 else (c0 + c1, w)
    new = State(tensor, qshape, out_dt, unit)
    if tensor == node.output[0]:
        if tuple(lw.shape(tensor)) != qshape:
            raise CompileError.at(node, f"output shape {lw.shape(tensor)} differs from the concatenation's {qshape}")
        lw.record(lay, new)
    return new, lay.outputs[0]


def _lower_add(lw, add, ends):

    (s0, in0), (s1, in1) = _branch_states(add, ends)
    if s0.ir_shape != s1.ir_shape or (s0.perm is None) != (s1.perm is None) or \
            (s0.perm is not None and not np.array_equal(s0.perm, s1.perm)):
        raise CompileError.at(add, f"adds tensors of shapes {s0.qshape} and {s1.qshape}; only equal shapes "
                              "(no broadcasting) are supported")
    scales = [s0.scale, s1.scale]
    s = min(scales)
    try:
        k = _shifts(add, scales, "their sum is not an integer multiple of one scale")
    except CompileError:
        if min(scales) <= 0:
            raise
        k = None                      # unequal scales: integer multipliers (compiler.frontend.scaled_add)
    steps, act, t = chain_to_quantizer(
        lw, add, CHAIN_OPS, "a residual Add must be followed by an activation quantizer",
        "quantize the block's output (e.g. a QuantReLU / QuantIdentity after the add)")
    q = read_quant(lw.model, act)
    s_out = q.scalar_scale()
    if s_out is None:
        raise CompileError.at(act, "activation quantizer with a per-channel scale is not supported")
    if k is None:
        return _lower_scaled_add(lw, add, (s0, in0), (s1, in1), steps, act, t, q, s_out)
    d0, d1 = dtype(s0.dtype), dtype(s1.dtype)
    a0 = (int(d0.min()) << k[0]) + (int(d1.min()) << k[1])
    a1 = (int(d0.max()) << k[0]) + (int(d1.max()) << k[1])
    if max(abs(a0), abs(a1)) >= 2**24:
        lw.notes.append(f"{add.name}: the residual sum reaches 2^24 units, beyond float32's exact integers")
    m, _ = np.frexp(abs(s))
    if m != 0.5:
        lw.notes.append(f"{add.name}: branch scale {s} is not a power of two, so QONNX's float32 Add may round")
    shape = s0.ir_shape
    c = shape[-1]
    lo, hi = q.level_range()
    if q.is_bipolar:
        lo, hi = 0, 1
    f = level_function(lw.model, steps, np.full(c, s), s0.nd, q)
    thr, dec = search_thresholds(f, a0, a1, lo, hi, c, act)
    if dec.any():
        raise CompileError.at(act, f"channels {np.flatnonzero(dec)[:8].tolist()} decrease with the sum")
    acc = range_dtype(min(a0, 0), max(a1, 0))
    lay = Layer(f"{add.name}_add", "AddStreams", shape, shape, s0.dtype, q.dtype(),
                attrs={"num_channels": c, "num_vectors": math.prod(shape) // c, "in1_dtype": s1.dtype, "shift": k,
                       "acc_dtype": acc, "out_bias": 0 if q.is_bipolar else lo, "noact": False},
                arrays={"thresholds": thr}, inputs=[in0, in1])
    lw.add(lay)
    new = State(t, s0.qshape, q.dtype(), s_out, s0.perm)
    lw.record(lay, new)
    return new


def _levels_of(dt: str) -> np.ndarray:
    if dt == "BIPOLAR":
        return np.array([-1, 1], np.int64)
    d = dtype(dt)
    return np.arange(int(d.min()), int(d.max()) + 1, dtype=np.int64)


def _lower_scaled_add(lw, add, end0, end1, steps, act, t, q, s_out):
    """AddStreams with integer multipliers for branch scales not related by a power of two (the module docstring of
    compiler.frontend.scaled_add): thresholds read off QONNX's float32 evaluation of every pair of branch levels."""
    from compiler.frontend.scaled_add import multipliers, pair_levels
    from compiler.frontend.thresholds import Chain

    (s0, in0), (s1, in1) = end0, end1
    shape = s0.ir_shape
    c = shape[-1]
    la, lb = _levels_of(s0.dtype), _levels_of(s1.dtype)
    if len(la) * len(lb) > 1 << 17:
        raise CompileError.at(add, f"the two branch scales {[s0.scale, s1.scale]} do not differ by a power of two, "
                              f"and the branches take {len(la)} x {len(lb)} value pairs, too many to tabulate",
                              hint="quantize both branches with the same (power-of-two) scale")
    chain = Chain(lw.model, steps, c, s0.nd)

    def f(y: np.ndarray) -> np.ndarray:
        out = chain(np.broadcast_to(np.asarray(y, np.float32)[:, None], (len(y), c)))
        lv = q.levels(out)
        return ((lv + 1) / 2 if q.is_bipolar else lv).astype(np.int64)

    lo, _ = q.level_range()
    if q.is_bipolar:
        lo = 0
    table = pair_levels(la, lb, s0.scale, s1.scale, f)
    (m0, m1), thr, (a0, a1) = multipliers(add, la, lb, table, s0.scale / s1.scale, lo)
    _, hi = q.level_range()
    hi = 1 if q.is_bipolar else hi
    if thr.shape[1] < hi - lo:           # levels no pair reaches: thresholds beyond the range
        thr = np.concatenate([thr, np.full((c, hi - lo - thr.shape[1]), a1 + 1, np.int64)], axis=1)
    acc = range_dtype(min(a0, 0), max(a1, 0))
    lw.notes.append(f"{add.name}: branch scales {s0.scale:.6g} and {s1.scale:.6g} (not a power of two apart) are "
                    f"summed as {m0} x input 0 + {m1} x input 1, thresholds read off QONNX's float32 sums of every "
                    "pair of branch levels")
    lay = Layer(f"{add.name}_add", "AddStreams", shape, shape, s0.dtype, q.dtype(),
                attrs={"num_channels": c, "num_vectors": math.prod(shape) // c, "in1_dtype": s1.dtype,
                       "shift": [0, 0], "mult": [int(m0), int(m1)], "acc_dtype": acc,
                       "out_bias": 0 if q.is_bipolar else lo, "noact": False},
                arrays={"thresholds": thr}, inputs=[in0, in1])
    lw.add(lay)
    new = State(t, s0.qshape, q.dtype(), s_out, s0.perm)
    lw.record(lay, new)
    return new
