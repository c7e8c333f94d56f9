"""CPU seconds per test (this process plus its waited-for children: g++, Verilator, FINN subprocesses), setup +
call + teardown, appended as `cpu_s<TAB>wall_s<TAB>worker<TAB>nodeid` lines to $BNNC_TEST_CPU_LOG when it is set
(tests/conftest.py registers the hook).
On a shared machine wall times depend on the others' load; CPU time does not (much). See tests/README.md.

    BNNC_TEST_CPU_LOG=/tmp/cpu.tsv .venv/bin/python -m pytest tests/hwlib -n 2
    sort -rn /tmp/cpu.tsv | head; awk '{s += $1} END {print s}' /tmp/cpu.tsv
"""
import os
import resource
import time

import pytest

_LOG = os.environ.get("BNNC_TEST_CPU_LOG")


def _cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    c0, t0 = _cpu(), time.perf_counter()
    yield
    if _LOG:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "-")
        with open(_LOG, "a") as f:
            f.write(f"{_cpu() - c0:.2f}\t{time.perf_counter() - t0:.2f}\t{worker}\t{item.nodeid}\n")
