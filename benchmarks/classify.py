"""Classify's time at scale: the working tree's text rules against an earlier revision's.

    python benchmarks/classify.py                        # 2 M rows → docs/benchmarks.md
    python benchmarks/classify.py --rows 20000 --doc /tmp/bench.md --repeats 1   # smoke
    python benchmarks/classify.py --baseline REV         # compare with another git revision

It generates (or reuses) the same 2 M-row file as ``make bench``'s (a), ingests it once, and
times ``classify`` on the in-scope table:

- the working tree's ``collectwatch/classify.py`` and the baseline's (``git show
  REV:collectwatch/classify.py``, loaded as a module of the package), interleaved, so that a
  change in the machine's load hits both alike; wall and CPU seconds (all threads);
- both again with ×2 and ×4 as many rules (each rule's variants that never fire), to show how
  each grows with the number of rules.

Both must give the same tags, or the benchmark stops: a faster classify that reads
differently is no improvement. Writes the ``classify`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import run  # noqa: E402  (benchmarks/run.py: the generated files and the machine)
from sections import write_section  # noqa: E402

# The last revision that ran the rules behaviour by behaviour (one combined pattern per
# behaviour to find candidate texts, then each rule on those), before one RE2 set per language.
BASELINE = "13c9bb7"
ROWS = 2_000_000
COPIES = (1, 2, 4)


def baseline_module(rev: str):
    """``collectwatch/classify.py`` as it was at ``rev``, importable beside the current one."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:collectwatch/classify.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        sys.exit(f"benchmarks/classify.py: no collectwatch/classify.py at {rev}: {exc.stderr}")
    path = Path(tempfile.mkdtemp(prefix="classify-baseline-")) / "classify_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("collectwatch._classify_baseline", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "collectwatch"  # its relative imports read today's package
    spec.loader.exec_module(module)
    return module


def with_copies(taxonomy: dict, k: int) -> dict:
    """``taxonomy`` with ``k - 1`` more variants of each narrative rule (ids ``<id>~2`` …):
    its pattern followed by a made-up word, so that, like most real rules on most texts,
    the extra rules cost a search but never fire."""
    out = copy.deepcopy(taxonomy)
    rules = out["narrative_rules"]
    out["narrative_rules"] = rules + [
        {**r, "id": f"{r['id']}~{j}", "pattern": f"(?:{r['pattern'].strip()})\\s+qzx{j}"}
        for j in range(2, k + 1)
        for r in rules
    ]
    return out


def timed(module, table: pd.DataFrame, taxonomy: dict) -> tuple[float, float, pd.DataFrame]:
    t0, c0 = time.perf_counter(), time.process_time()
    _, tags = module.classify(table, taxonomy)
    return time.perf_counter() - t0, time.process_time() - c0, tags


def measure(table: pd.DataFrame, taxonomy: dict, baseline, repeats: int) -> list[dict]:
    from collectwatch import classify

    rows = []
    for k in COPIES:
        tax = with_copies(taxonomy, k)
        runs = {"now": [], "baseline": []}
        for _ in range(repeats if k == 1 else 1):
            for name, module in (("baseline", baseline), ("now", classify)):
                wall, cpu, tags = timed(module, table, tax)
                runs[name].append((wall, cpu, tags))
        now, base = runs["now"][-1][2], runs["baseline"][-1][2]
        if not now.equals(base):
            sys.exit(f"benchmarks/classify.py: rules ×{k}: the two revisions' tags differ")
        for name, got in runs.items():
            rows.append(
                {
                    "code": name,
                    "copies": k,
                    "rules": len(tax["narrative_rules"]),
                    "wall_s": statistics.median(w for w, _, _ in got),
                    "cpu_s": statistics.median(c for _, c, _ in got),
                    "runs": len(got),
                    "text_tags": int((got[-1][2]["kind"] == "text").sum()),
                }
            )
    return rows


def markdown(rows: list[dict], info: dict) -> str:
    from sections import markers

    start, end = markers("classify")
    by = {(r["code"], r["copies"]): r for r in rows}
    lines = [
        start,
        "## Classify: one pass per language",
        "",
        f"`make bench-classify` (`benchmarks/classify.py`), {info['date']}, load average "
        f"{info['load']}. Input: {info['rows']:,} generated rows, {info['in_scope']:,} in scope "
        f"({info['narratives']:,} with a narrative). Baseline: `{info['baseline']}`, the "
        "rules behaviour by behaviour. Now: one RE2 set of all a language's patterns finds "
        "each rule's candidate texts, then each rule runs exactly on its candidates. Median of "
        f"{info['repeats']} interleaved runs with the taxonomy's rules, one run with ×2 and ×4 "
        "as many (variants of each rule, followed by a made-up word, that never fire). "
        "CPU counts all threads. Both give identical tags (checked).",
        "",
        "| rules | baseline wall | now wall | baseline CPU | now CPU | CPU now / baseline "
        "| text tags |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in COPIES:
        b, n = by[("baseline", k)], by[("now", k)]
        lines.append(
            f"| {n['rules']} (×{k}) | {b['wall_s']:.2f} s | {n['wall_s']:.2f} s "
            f"| {b['cpu_s']:.2f} s | {n['cpu_s']:.2f} s | {n['cpu_s'] / b['cpu_s']:.2f} "
            f"| {n['text_tags']:,} |"
        )
    lines += ["", end, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=ROWS, help="generated rows (default 2,000,000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each with the real rules")
    ap.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    ap.add_argument("--doc", type=Path, default=run.DOC, help="report file (docs/benchmarks.md)")
    args = ap.parse_args(argv)

    from collectwatch import ingest
    from collectwatch.config import load_config

    baseline = baseline_module(args.baseline)
    run.DATA.mkdir(parents=True, exist_ok=True)
    meta = run.ensure_file(run.DATA, args.rows, seed=run.SEED)
    config = load_config()
    with tempfile.TemporaryDirectory() as cache:
        table = ingest.read_inputs(
            [meta["path"]], config.sources, config.lenders, cache_dir=Path(cache)
        ).table
    rows = measure(table, config.taxonomy, baseline, args.repeats)
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "load": run.load_average(),
        "rows": args.rows,
        "in_scope": len(table),
        "narratives": int(table["narrative"].notna().sum()),
        "baseline": args.baseline,
        "repeats": args.repeats,
    }
    write_section(args.doc, "classify", markdown(rows, info))
    for r in rows:
        print(
            f"{r['code']:>8} rules ×{r['copies']}: wall {r['wall_s']:.2f} s, CPU {r['cpu_s']:.2f} s"
        )
    print(f"wrote the classify section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
