"""FINN itself checks a bnnc build's `finn_dataflow.onnx` (run with the FINN venv's python: numpy/onnx/qonnx/finn only).

For each build folder (holding finn_dataflow.onnx, model.onnx = the original QONNX model, finn_inputs.npy; or, for a
hand-built IR graph without an original model, finn_expected.npy = bnnc's simulator output instead of model.onnx):
1. qonnx InferShapes + FINN InferDataTypes change no tensor's datatype annotation;
2. FINN's execute_onnx of the whole file on the original inputs == qonnx execution of model.onnx (exact equality,
   the bound `bnnc compile --verify` uses: it has zero tolerance on the final outputs too; after a LabelSelect, its
   indices == the top-k of QONNX's output, ties to the lower index), or == finn_expected.npy exactly; with
   finn_layers.npz (tests/finn/make_builds.py), every layer's output tensor == bnnc's simulated one too;
3. CreateDataflowPartition succeeds (one dataflow partition, host-side nodes around it);
4. FINN's ApplyConfig accepts the build's finn_folding.json (known node names, no attribute changed);
5. SpecializeLayers (FINN's default HLS/RTL choice for the FPGA part) and FINN's res_estimation run; the estimate is
   written to <build>/finn_estimate.json.
Results go to <build>/finn_check.json; the exit status is non-zero when any step fails on any build.
Usage: python finn_check.py BUILD [BUILD ...] [--fpgapart xc7z020clg400-1]
       python finn_check.py --serve   (JSON lists of build folders on stdin, one JSON answer line each)
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

DEFAULT_PART = "xc7z020clg400-1"   # PYNQ-Z2 (bnnc's default board)


def _setup_finn() -> None:
    """FINN's settings need a build dir and (for imports only) dummy tool settings; no Vivado is used."""
    os.environ.setdefault("FINN_BUILD_DIR", tempfile.mkdtemp(prefix="finn-check-"))
    from finn.util.settings import initialize_dummy_settings

    initialize_dummy_settings()
    # finn-plus registers its streaming Reshape op (the conv -> FC flatten in our exports) only when its RTL op
    # package is imported, as FINN's SpecializeLayers does; a FINN user's flow imports it the same way.
    import finn.custom_op.fpgadataflow.rtl  # noqa: F401


def _datatypes(model) -> dict[str, str]:
    names = [t.name for t in model.graph.input] + [t.name for t in model.graph.output]
    names += [t.name for t in model.graph.value_info] + [t.name for t in model.graph.initializer]
    out = {n: model.get_tensor_datatype(n).name for n in dict.fromkeys(names)}
    for node in model.graph.node:   # FINN ops also carry their datatypes as attributes (inputDataType, ...)
        for a in node.attribute:
            if a.name.lower().endswith("datatype") and a.type == a.STRING:
                out[f"{node.name}.{a.name}"] = a.s.decode()
    return out


def check_datatypes(model) -> dict:
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    before = _datatypes(model)
    after = _datatypes(model.transform(InferShapes()).transform(InferDataTypes()))
    changed = {n: [before[n], after.get(n)] for n in before if after.get(n) != before[n]}
    return {"ok": not changed, "changed": changed}


def check_execution(finn_model, reference, x: np.ndarray, layers: dict | None = None) -> dict:
    """Frame by frame (FINN's dataflow nodes are built for batch 1). `reference` is the original QONNX model, or
    (for a hand-built IR graph, which has none) the expected outputs bnnc's simulator computed. `layers` (from
    finn_layers.npz): {tensor: values} of every layer output as bnnc's simulator has them; FINN's tensors must equal
    them too, frame by frame (bnnc's --verify checks the simulator against QONNX's tensors)."""
    from finn.core.onnx_exec import execute_onnx as finn_exec
    from qonnx.core.onnx_exec import execute_onnx as qonnx_exec

    fin = finn_model.graph.input[0]
    fshape = tuple(finn_model.get_tensor_shape(fin.name))
    if fshape[1:] != tuple(x.shape[1:]):
        return {"ok": False, "error": f"finn_dataflow.onnx takes per-frame shape {fshape[1:]}, the original model "
                                      f"{tuple(x.shape[1:])}: host-side steps are not part of the file"}
    mismatches, max_diff, first, layer_mismatches = 0, 0.0, None, {}
    last = finn_model.find_producer(finn_model.graph.output[0].name)
    k = None
    if last is not None and last.op_type == "LabelSelect" and not isinstance(reference, np.ndarray):
        k = next(a.i for a in last.attribute if a.name == "K")   # then the file returns the top-k class indices
    for i in range(len(x)):
        xi = x[i : i + 1].astype(np.float32)
        if isinstance(reference, np.ndarray):
            ref = reference[i : i + 1].astype(np.float32)
        else:
            qin = reference.graph.input[0]
            ref = qonnx_exec(reference, {qin.name: xi})[reference.graph.output[0].name]
        if k is not None:   # descending, ties to the lower index (ONNX TopK, which FINN's LabelSelect runs)
            ref = np.argsort(-ref.reshape(1, -1), axis=1, kind="stable")[:, :k].astype(np.float32)
        try:
            ctx = finn_exec(finn_model, {fin.name: xi}, return_full_exec_context=layers is not None)
        except Exception as e:  # noqa: BLE001 - report FINN's own error for this frame
            return {"ok": False, "error": f"frame {i}: FINN execute_onnx failed: {type(e).__name__}: {e}"}
        got = ctx[finn_model.graph.output[0].name]
        for t, want in (layers or {}).items():
            if t not in ctx:
                return {"ok": False, "error": f"finn_layers.npz names tensor {t!r}, which the file does not have"}
            if not np.array_equal(np.asarray(ctx[t]).reshape(want[i].shape), want[i]):
                layer_mismatches[t] = layer_mismatches.get(t, 0) + 1
        if isinstance(reference, np.ndarray) or k is not None:
            got = got.reshape(ref.shape).astype(np.float32)
        if got.shape != ref.shape:
            return {"ok": False, "error": f"frame {i}: FINN output shape {got.shape} != QONNX {ref.shape}"}
        if not np.array_equal(got, ref):
            mismatches += 1
            first = i if first is None else first
            max_diff = max(max_diff, float(np.max(np.abs(got.astype(np.float64) - ref))))
    return {"ok": mismatches == 0 and not layer_mismatches, "frames": len(x), "mismatches": mismatches,
            "first_mismatch": first, "max_abs_diff": max_diff,
            "reference": "bnnc simulator" if isinstance(reference, np.ndarray) else "QONNX",
            "layers_compared": len(layers or {}), "layer_mismatches": layer_mismatches}


def check_folding_config(model, cfg: dict) -> dict:
    """FINN's ApplyConfig with the build's finn_folding.json names only existing nodes and changes no attribute
    (the export already carries that folding), so a FINN user can apply it and continue with FINN's builder."""
    from finn.transformation.general import ApplyConfig

    names = {n.name for n in model.graph.node}
    unknown = sorted(set(cfg) - {"Defaults"} - names)
    attrs = lambda m: {n.name: {a.name: str(a) for a in n.attribute} for n in m.graph.node}  # noqa: E731
    before = attrs(model)
    after = attrs(model.transform(ApplyConfig(cfg)))
    changed = sorted(n for n in before if before[n] != after.get(n))
    return {"ok": not unknown and not changed, "nodes": len(cfg) - 1, "unknown_nodes": unknown,
            "changed_nodes": changed}


def check_partition(model, fpgapart: str, estimate_path: Path) -> tuple[dict, dict]:
    from finn.analysis.fpgadataflow.res_estimation import res_estimation
    from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    try:
        parent = model.transform(CreateDataflowPartition())
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}, {"ok": False, "error": "no partition"}
    parts = [n for n in parent.graph.node if n.op_type == "StreamingDataflowPartition"]
    host = [n.op_type for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"]
    part = {"ok": len(parts) == 1, "partitions": len(parts), "host_nodes": host}
    if len(parts) != 1:
        part["error"] = f"expected one dataflow partition, got {len(parts)}"
        return part, {"ok": False, "error": "no single partition"}
    child = ModelWrapper(getCustomOp(parts[0]).get_nodeattr("model"))
    part["ops"] = [n.op_type for n in child.graph.node]
    try:
        spec = child.transform(SpecializeLayers(fpgapart))
        est = spec.analysis(lambda m: res_estimation(m, fpgapart))
    except Exception as e:  # noqa: BLE001
        return part, {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)}
    impl = {n.name: n.op_type for n in spec.graph.node}
    # the folding as FINN's builder writes it (final_hw_config.json), under FINN's own node names: bnnc reads it back
    from finn.util.config import extract_model_config_to_json

    extract_model_config_to_json(spec, estimate_path.with_name("finn_hw_config.json"), ["PE", "SIMD", "ram_style"])
    # FINN renames nodes on the way (partition, specialization) and may interleave parallel branches differently
    # (a topological sort), but keeps the order among the nodes of one op type (as compiler.backends.finn.folding assumes
    # when it reads FINN-named configs back): map back to our names per op type
    ours = [n for n in model.graph.node if n.domain == "finn.custom_op.fpgadataflow"]
    theirs = list(spec.graph.node)
    base = lambda op: op.removesuffix("_hls").removesuffix("_rtl")  # noqa: E731
    by_op = lambda nodes, f: {op: [n.name for n in nodes if f(n.op_type) == op] for op in {f(n.op_type) for n in nodes}}  # noqa: E731
    ours_by, theirs_by = by_op(ours, str), by_op(theirs, base)
    if {k: len(v) for k, v in ours_by.items()} != {k: len(v) for k, v in theirs_by.items()}:
        return part, {"ok": False, "error": "the specialized partition's nodes do not match the exported ones: "
                      f"{[n.op_type for n in ours]} vs {[n.op_type for n in theirs]}"}
    renamed = {t: o for op in ours_by for o, t in zip(ours_by[op], theirs_by[op])}
    est = {renamed[k]: {kk: float(vv) for kk, vv in v.items()} for k, v in est.items()}
    impl = {renamed[k]: v for k, v in impl.items()}
    total = {}
    for v in est.values():
        for k, n in v.items():
            total[k] = total.get(k, 0.0) + n
    estimate = {"fpgapart": fpgapart, "nodes": est, "impl": impl, "total": total}
    estimate_path.write_text(json.dumps(estimate, indent=1))
    return part, {"ok": True, "impl": impl, "total": total}


def _step(fn, *args):
    """One check; FINN/qonnx raising counts as that check failing (with FINN's message), not as a crash."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)}


def check_build(folder: Path, fpgapart: str) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper

    finn_model = ModelWrapper(str(folder / "finn_dataflow.onnx"))
    if (folder / "model.onnx").exists():
        reference = ModelWrapper(str(folder / "model.onnx"))
    else:
        reference = np.load(folder / "finn_expected.npy")
    x = np.load(folder / "finn_inputs.npy")
    layers = dict(np.load(folder / "finn_layers.npz")) if (folder / "finn_layers.npz").exists() else None
    res = {"build": str(folder), "datatypes": _step(check_datatypes, copy.deepcopy(finn_model)),
           "execution": _step(check_execution, finn_model, reference, x, layers)}
    if (folder / "finn_folding.json").exists():
        cfg = json.loads((folder / "finn_folding.json").read_text())
        res["folding_config"] = _step(check_folding_config, copy.deepcopy(finn_model), cfg)
    part = _step(check_partition, copy.deepcopy(finn_model), fpgapart, folder / "finn_estimate.json")
    res["partition"], res["specialize_and_estimate"] = part if isinstance(part, tuple) else (part, part)
    res["ok"] = all(v["ok"] for v in res.values() if isinstance(v, dict))
    (folder / "finn_check.json").write_text(json.dumps(res, indent=1))
    return res


def check_builds(builds: list[Path], fpgapart: str) -> int:
    """FINN's checks on each build, a summary on stdout; 0 if all pass, 1 if any fails, 2 if not bnnc builds."""
    failed = 0
    missing = [f"{b / f}" for b in builds for f in ("finn_dataflow.onnx", "finn_inputs.npy")
               if not (b / f).exists()]
    missing += [f"{b / 'model.onnx'}" for b in builds
                if not (b / "model.onnx").exists() and not (b / "finn_expected.npy").exists()]
    if missing:
        print("not bnnc builds for the FINN check (tests/finn/make_builds.py writes them); missing: "
              + ", ".join(missing), file=sys.stderr)
        return 2
    for folder in builds:
        r = check_build(folder, fpgapart)
        failed += not r["ok"]
        print(f"{folder}: {'OK' if r['ok'] else 'FAIL'}")
        for step in ("datatypes", "execution", "folding_config", "partition", "specialize_and_estimate"):
            if step not in r:
                continue
            v = dict(r[step])
            v.pop("trace", None)
            v.pop("impl", None)
            print(f"  {step}: {json.dumps(v)[:600]}")
    print(f"{len(builds) - failed}/{len(builds)} builds pass FINN's checks")
    return 1 if failed else 0


def serve(fpgapart: str) -> int:
    """One FINN process for many checks (the test suite's): each stdin line is a JSON list of build folders, each
    answer one stdout line {"rc": check_builds' status, "output": its summary}. FINN, qonnx and torch are imported
    once (~3 CPU-s a process) instead of once per check; every build is still loaded from its files."""
    import contextlib
    import io

    reply = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                rc = check_builds([Path(b) for b in json.loads(line)], fpgapart)
            except Exception:  # noqa: BLE001 - a crash answers this request; the next one still runs
                print(traceback.format_exc())
                rc = 3
        reply.write(json.dumps({"rc": rc, "output": out.getvalue()}) + "\n")
        reply.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("builds", nargs="*", type=Path)
    p.add_argument("--fpgapart", default=DEFAULT_PART)
    p.add_argument("--serve", action="store_true", help="read JSON lists of build folders from stdin, one per "
                   "line, and answer each with a JSON line (one FINN process for many checks)")
    a = p.parse_args(argv)
    if not a.builds and not a.serve:
        p.error("give build folders, or --serve")
    _setup_finn()
    return serve(a.fpgapart) if a.serve else check_builds(a.builds, a.fpgapart)


if __name__ == "__main__":
    sys.exit(main())
