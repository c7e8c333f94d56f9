"""Wall time of one `bnnc explore` sweep run three ways: serially (scaleout's local executor in-process), through
the local process pool (one process per core), and through a Ray cluster started here on 127.0.0.1 (one head node
with one CPU per core). Prints the wall time of each, the speed-up over serial, the core count and the load average
(the machine may be shared), and checks that the three explore.json files agree point for point (timings aside).

The model: an untrained standard topology with calibrated random BatchNorm (benchmarks/_bench_models.py), compiled
for every board x target FPS (compile + folding search + estimate per point; --rtl adds a Verilator rtlsim per
point, with the Verilator build cache and ccache off so every mode builds everything).

Ray advertises the machine's interface address for a node even when started on 127.0.0.1, so as root the whole
benchmark re-runs itself inside network/PID/mount namespaces that have only loopback (all three modes, same
conditions); elsewhere (--no-namespace, or no root/unshare) the cluster runs on the host network and this is said.

    .venv/bin/python benchmarks/sweep_scaling.py --out runs/sweep_scaling
    .venv/bin/python benchmarks/sweep_scaling.py --model tfc --boards Pynq-Z2 --target-fps 1000,10000,100000,max \
        --rtl --repeat 2 --out runs/sweep_scaling_rtl      # heavier points: Verilator builds
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]

MODES = ("serial", "pool", "ray")


def export_model(name: str, out: Path) -> Path:
    """The benchmark model as QONNX (torch runs only here, in the driver, once)."""
    path = out / f"{name}-w1a1.onnx"
    if path.is_file():
        return path
    from _bench_models import IN_SHAPE, calibrated_model, fmnist
    from bnn.export import export_qonnx

    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(calibrated_model(name, "w1a1", fmnist(name, 256, split="train")), path, IN_SHAPE[name])
    return path


def run_mode(mode: str, model: Path, boards, fps, out: Path, rtl: bool, cores: int) -> dict:
    """One sweep through `mode` into a fresh folder; its wall time (Ray: cluster start timed apart)."""
    import shutil

    from compiler.workflow.explore import explore
    from scaleout import LocalExecutor, make_executor

    d = out / mode
    shutil.rmtree(d, ignore_errors=True)
    row: dict = {"mode": mode}
    if mode == "ray":
        from scaleout.local_cluster import LocalRayCluster

        with LocalRayCluster(num_cpus=cores, port=6391, log_path=out / "ray_head.log") as cluster:
            ex = make_executor(cluster.address)
            cluster.wait_nodes(60)
            row["cluster_start_s"] = round(cluster.start_seconds, 2)
            row["executor"] = ex.describe()
            t0 = time.perf_counter()
            doc = explore(model, boards, fps, d, rtl=rtl, executor=ex)
            row["wall_s"] = time.perf_counter() - t0
            ex.close()
    else:
        ex = LocalExecutor(1 if mode == "serial" else cores)
        row["executor"] = ex.describe()
        t0 = time.perf_counter()
        doc = explore(model, boards, fps, d, rtl=rtl, executor=ex)
        row["wall_s"] = time.perf_counter() - t0
    row["points"], row["failed"] = len(doc["points"]), len(doc["failed"])
    row["task_s"] = sum(sum(e["seconds"].values()) for e in doc["points"])
    row["doc"] = doc
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="cnv", choices=["tfc", "sfc", "lfc", "cnv"])
    ap.add_argument("--boards", default="Pynq-Z2,Ultra96-V2")
    ap.add_argument("--target-fps", default="1000,3000,10000,max")
    ap.add_argument("--rtl", action="store_true", help="also Verilator rtlsim per point (Verilator cache off)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds; each round runs the modes in another order (rotated), the table shows the median")
    ap.add_argument("--out", type=Path, default=Path("runs/sweep_scaling"))
    ap.add_argument("--no-namespace", action="store_true", help="run Ray on the host network (see the docstring)")
    ap.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"--modes: unknown {bad}; choose from {', '.join(MODES)}")
    from diagnostics.errors import BnncError
    from compiler.workflow.explore import parse_boards, parse_fps_list, sweep_results

    try:
        boards, fps = parse_boards(a.boards), parse_fps_list(a.target_fps)
    except BnncError as e:
        ap.error(str(e))
    if "ray" in modes:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            ap.error("--modes ray needs Ray: pip install 'bnnc[ray]' (or --modes serial,pool)")
        if not a.in_namespace and not a.no_namespace:
            from scaleout.local_cluster import loopback_namespace_command, namespaces_unavailable

            why = namespaces_unavailable()
            if why is None:
                a.out.mkdir(parents=True, exist_ok=True)
                export_model(a.model, a.out)          # torch export on the host, then everything in the namespace
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                    [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
                cmd = loopback_namespace_command([sys.executable, str(Path(__file__).resolve()),
                                                  *(argv if argv is not None else sys.argv[1:]), "--in-namespace"])
                return subprocess.run(cmd, env=env).returncode
            print(f"note: no loopback-only namespace ({why}); Ray runs on the host network", file=sys.stderr)
    if a.rtl:      # every mode builds every model in full: no shared Verilator models, no ccache'd runtime objects
        os.environ["BNNC_VERILATOR_CACHE"] = "off"
        os.environ["OBJCACHE"] = ""
    from scaleout import available_cores

    cores = available_cores()
    model = export_model(a.model, a.out)
    where = ("inside a loopback-only network namespace" if a.in_namespace else "on the host network")
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    load0 = os.getloadavg()
    print(f"sweep: {a.model}-w1a1, {len(boards)} boards x {len(fps)} targets = {len(boards) * len(fps)} points"
          f"{' (+ rtlsim)' if a.rtl else ''}; {cores} cores; load average {load0[0]:.1f} at start; {where}")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for rnd in range(max(1, a.repeat)):
        order = modes[rnd % len(modes):] + modes[:rnd % len(modes)]
        for m in order:
            r = run_mode(m, model, boards, fps, a.out, a.rtl, cores)
            runs[m].append(r)
            print(f"round {rnd + 1}: {m} {r['wall_s']:.1f} s", flush=True)
    load1 = os.getloadavg()
    rows = []
    for m in modes:
        rs = sorted(runs[m], key=lambda r: r["wall_s"])
        row = dict(rs[(len(rs) - 1) // 2])           # the median round (the lower one of an even count)
        row["wall_s_rounds"] = [round(r["wall_s"], 1) for r in runs[m]]
        row["identical_rounds"] = all(sweep_results(r["doc"]) == sweep_results(rs[0]["doc"]) for r in rs)
        rows.append(row)
    base = next((r["wall_s"] for r in rows if r["mode"] == "serial"), None)
    ref = sweep_results(rows[0]["doc"])
    print(f"\n{'mode':8} {'wall s':>8} {'speed-up':>9} {'task s':>8}  executor   (median of {max(1, a.repeat)} rounds)")
    for r in rows:
        r["speedup"] = base / r["wall_s"] if base else None
        r["identical_to_" + rows[0]["mode"]] = sweep_results(r["doc"]) == ref and r["identical_rounds"]
        extra = f"; cluster start {r['cluster_start_s']:.1f} s (not in wall)" if "cluster_start_s" in r else ""
        sp = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        print(f"{r['mode']:8} {r['wall_s']:8.1f} {sp:>9} "
              f"{r['task_s']:8.1f}  {r['executor']}{extra}; rounds {r['wall_s_rounds']}")
    same = all(r["identical_to_" + rows[0]["mode"]] for r in rows)
    print(f"\n{cores} cores; load average {load0[0]:.1f} -> {load1[0]:.1f} (other users of the machine slow every "
          f"mode); explore.json identical across modes (timings aside): {'yes' if same else 'NO'}; "
          f"failed points: {sum(r['failed'] for r in rows)}")
    print("wall s: the sweep alone (executor start included for the pool, Ray cluster start excluded); task s: the "
          "sum of the points' own times")
    out = {"model": a.model, "boards": boards, "target_fps": fps, "rtl": a.rtl, "cores": cores, "repeat": a.repeat,
           "load_average": [load0[0], load1[0]], "namespace": a.in_namespace, "identical": same,
           "rows": [{k: v for k, v in r.items() if k != "doc"} for r in rows]}
    (a.out / "results.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"results: {a.out / 'results.json'}")
    return 0 if same and not any(r["failed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
