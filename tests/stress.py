"""make test-stress: the test suite, shuffled, several times over, on a machine kept busy.

While pytest runs, one CPU burner per core spins and a memory-hungry process keeps a block
of memory (--memory-mib) in use by writing to it, so the tests run slow and late, as on a
loaded CI machine. Each run shuffles the test order with its own seed (pytest-random-order,
printed, so a failure can be replayed with the same --random-order-seed) and runs under
pytest-xdist like make test. The load processes are stopped when the runs end, fail or are
interrupted (Ctrl-C, SIGTERM), and die with this script even if it is killed.

    python tests/stress.py --runs 5 -- --crawl-sample=0        # arguments after -- go to pytest

Exit code 0 only if every run passed; the last line says how many did.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BURN = "while True: pass"
# Touch one byte per page of the block, over and over: the memory stays resident and the
# memory bus busy.
HOG = """
import sys, time
block = bytearray(int(sys.argv[1]) * 2**20)
while True:
    for i in range(0, len(block), 4096):
        block[i] = (block[i] + 1) & 255
    time.sleep(0.05)
"""


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def start_load(cores: int, memory_mib: int) -> list[subprocess.Popen]:
    procs = []
    for _ in range(cores):
        procs.append(subprocess.Popen([sys.executable, "-c", BURN], preexec_fn=_die_with_parent))
    if memory_mib > 0:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", HOG, str(memory_mib)], preexec_fn=_die_with_parent
            )
        )
    return procs


def stop_load(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument(
        "--cores", type=int, default=os.cpu_count() or 2, help="CPU burners (default: one a core)"
    )
    parser.add_argument(
        "--memory-mib", type=int, default=2048, help="memory the hog keeps busy (default 2048)"
    )
    parser.add_argument("--workers", default="auto", help="pytest -n (default auto)")
    parser.add_argument("--seed", type=int, help="first run's shuffle seed (default random)")
    parser.add_argument("pytest_args", nargs="*", help="after --: more arguments for pytest")
    args = parser.parse_args(argv)

    first_seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
    results: list[tuple[int, int, float]] = []  # (seed, exit code, seconds)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    load = start_load(args.cores, args.memory_mib)
    print(
        f"stress: {args.cores} CPU burner(s) and {args.memory_mib} MiB memory hog started "
        f"(pids {' '.join(str(p.pid) for p in load)})",
        flush=True,
    )
    try:
        for run in range(args.runs):
            seed = first_seed + run
            cmd = [
                sys.executable, "-m", "pytest", "-q", "-n", args.workers,
                "--random-order-bucket=module", f"--random-order-seed={seed}",
                "--durations=10", *args.pytest_args,
            ]  # fmt: skip
            print(f"\nstress run {run + 1}/{args.runs}: {' '.join(cmd[1:])}", flush=True)
            began = time.monotonic()
            code = subprocess.call(cmd, cwd=ROOT)
            results.append((seed, code, time.monotonic() - began))
            print(f"stress run {run + 1}/{args.runs}: exit {code} in {results[-1][2]:.0f} s")
    except KeyboardInterrupt:
        print("\nstress: interrupted", flush=True)
    finally:
        stop_load(load)
        print("stress: load stopped", flush=True)

    passed = sum(code == 0 for _, code, _ in results)
    for i, (seed, code, secs) in enumerate(results, 1):
        state = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"  run {i}: --random-order-seed={seed} {state} in {secs:.0f} s")
    print(f"stress: {passed} of {args.runs} runs passed")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
