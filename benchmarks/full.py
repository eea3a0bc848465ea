"""make bench-full: the nightly build at the whole database's scale, against the host's limits.

    python benchmarks/full.py             # 1.4 M rows → docs/benchmarks.md, section "full"
    python benchmarks/full.py --rows 20000 --companies 200 --doc /tmp/b.md   # a quick try
    python benchmarks/full.py -- --jobs 2  # arguments after -- go to build.py

The input is what ``benchmarks/generate.py --rows 1400000 --companies 5500 --dc-share 1.0
--narratives 0.35 --zipf 1.4`` writes: about the public database's debt-collection total,
with its long tail of small companies. It is generated once into ``benchmarks/data/`` and
reused while the settings and the generator are unchanged. The build is ``python build.py
--input FILE --no-cache --quiet`` in a fresh process (peak RSS from ``wait4``), timed per stage
from its build report (wall and CPU seconds), and the written site is measured on disk: bytes,
files, and the folders that hold the most bytes. Each figure is set against its target; a
missed target is reported, not hidden, and the exit code stays 0 (a benchmark measures, the
publish gate refuses).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import run  # benchmarks/, this script's folder: the measured child and the generated inputs
import sections

ROOT = run.ROOT
DOC = run.DOC
MB = 10**6  # the host counts decimal megabytes (GitHub Pages: 1 GB a site)

DEFAULTS = {"rows": 1_400_000, "companies": 5_500, "dc_share": 1.0, "narratives": 0.35, "zipf": 1.4}
TARGETS = {  # measured → (limit, unit); the full-scale issue's targets
    "wall_s": (4 * 60, "s"),
    "rss_mib": (2 * 1024, "MiB"),
    "site_mb": (400, "MB"),
    "site_files": (50_000, "files"),
}
TARGET_NAMES = {
    "wall_s": "whole build, wall time",
    "rss_mib": "peak RSS",
    "site_mb": "site on disk",
    "site_files": "files in the site",
}
TOP_PARTS = 10  # folders (or files) listed in "where the bytes go"


def parts(site: Path) -> list[tuple[str, int, int]]:
    """(part, bytes, files) of the site, largest first. A part is a top-level folder or file,
    but inside ``zh/`` and ``data/`` one level deeper (``zh/lenders``, ``data/charts``,
    ``data/yoy.csv``), where the big parts are."""
    sizes: dict[str, list[int]] = {}
    for path in site.rglob("*"):
        if path.is_file():
            rel = path.relative_to(site).parts
            key = "/".join(rel[:2] if rel[0] in ("zh", "data") and len(rel) > 1 else rel[:1])
            entry = sizes.setdefault(key, [0, 0])
            entry[0] += path.stat().st_size
            entry[1] += 1
    return sorted(((k, b, f) for k, (b, f) in sizes.items()), key=lambda x: (-x[1], x[0]))


def measure(args) -> dict:
    data = run.ensure_file(
        args.data_dir,
        args.rows,
        seed=args.seed,
        companies=args.companies,
        dc_share=args.dc_share,
        narratives=args.narratives,
        zipf=args.zipf,
        stem=f"full_{args.rows}_c{args.companies}_seed{args.seed}",
    )
    work = Path(tempfile.mkdtemp(prefix="full-", dir=args.data_dir))
    out = work / "site"
    cmd = [sys.executable, str(ROOT / "build.py"), "--input", data["path"], "--out", str(out)]
    cmd += ["--no-cache", "--quiet", *args.build_args]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1790000000"}
    try:
        result = run.run_child(cmd, env=env, timeout=args.timeout)
        report_file = out / "data" / "build-report.json"
        report = (
            json.loads(report_file.read_text(encoding="utf-8")) if report_file.is_file() else {}
        )
        found = {
            "input": {k: data[k] for k in ("rows", "companies", "dc_share", "narratives", "zipf")},
            "input_bytes": data["bytes"],
            "command": " ".join(["python build.py --input FILE --out SITE", *cmd[6:]]),
            "returncode": result["returncode"],
            "stderr": result["stderr"],
            "wall_s": result["wall_s"],
            "cpu_s": result["cpu_s"],
            "rss_mib": result["rss_mib"],
            "load_before": result["load_before"],
            "complaints": report.get("complaints"),
            "timings": report.get("timings", {}),
            "cpu": report.get("cpu", {}),
        }
        if out.is_dir():
            found["parts"] = parts(out)
            found["site_mb"] = sum(b for _, b, _ in found["parts"]) / MB
            found["site_files"] = sum(f for _, _, f in found["parts"])
            lenders = out / "lenders"
            found["lender_pages"] = sum(
                (p / "index.html").is_file() for p in lenders.iterdir() if p.is_dir()
            )
        return found
    finally:
        if args.keep:
            print(f"kept the site in {out}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def judge(found: dict) -> list[tuple[str, float | None, float, str, bool | None]]:
    """(target name, measured, limit, unit, met) for each target; met is None if unmeasured."""
    rows = []
    for key, (limit, unit) in TARGETS.items():
        value = found.get(key) if found["returncode"] == 0 else None
        rows.append(
            (TARGET_NAMES[key], value, limit, unit, None if value is None else value <= limit)
        )
    return rows


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{int(value // 60)} min {value % 60:04.1f} s" if value >= 60 else f"{value:.1f} s"
    return f"{value:,.0f} {unit}"


def markdown(found: dict, machine: dict) -> str:
    start, end = sections.markers("full")
    inp = found["input"]
    lines = [
        start,
        "## Full-scale build (`make bench-full`)",
        "",
        f"Measured {machine['date']} on {machine['cores']} cores ({machine['cpu']}), "
        f"load average {run._fmt_load(found['load_before'])} before the build. Input: "
        f"`generate.py --rows {inp['rows']} --companies {inp['companies']} --dc-share "
        f"{inp['dc_share']:g} --narratives {inp['narratives']:g} --zipf {inp['zipf']:g}` "
        f"({found['input_bytes'] / MB:,.0f} MB); `{found['command']}`.",
        "",
    ]
    if found["returncode"] != 0:
        lines += [
            f"**The build failed** (exit code {found['returncode']}):",
            "",
            "```",
            found["stderr"].strip()[-1500:],
            "```",
            "",
        ]
    lines += ["| target | measured | limit | |", "|---|---|---|---|"]
    for name, value, limit, unit, met in judge(found):
        verdict = "–" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {name} | {_fmt(value, unit)} | {_fmt(limit, unit)} | {verdict} |")
    lines += [
        "",
        f"{found['complaints'] or 0:,} complaints; {found.get('lender_pages', 0):,} lender "
        f"pages; CPU {found['cpu_s']:.0f} s in all "
        f"({found['cpu_s'] / max(found['wall_s'], 1e-9):.0%} of one core's wall time).",
        "",
        "| stage | wall | CPU |",
        "|---|---|---|",
    ]
    for stage, wall in found["timings"].items():
        if stage != "total":
            cpu = found["cpu"].get(stage)
            lines.append(f"| {stage} | {wall:.1f} s | {'–' if cpu is None else f'{cpu:.1f} s'} |")
    if found.get("parts"):
        lines += ["", "Where the bytes go:", "", "| part | size | files |", "|---|---|---|"]
        for part, size, files in found["parts"][:TOP_PARTS]:
            lines.append(f"| `{part}` | {size / MB:,.1f} MB | {files:,} |")
    lines.append(end)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=DEFAULTS["rows"])
    p.add_argument("--companies", type=int, default=DEFAULTS["companies"])
    p.add_argument("--dc-share", type=float, default=DEFAULTS["dc_share"])
    p.add_argument("--narratives", type=float, default=DEFAULTS["narratives"])
    p.add_argument("--zipf", type=float, default=DEFAULTS["zipf"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", type=Path, default=run.DATA, help="generated inputs (reused)")
    p.add_argument("--doc", type=Path, default=DOC, help="report (its 'full' section)")
    p.add_argument("--json", type=Path, help="also write the raw measurements here")
    p.add_argument(
        "--timeout", type=float, default=3600, help="seconds before the build is stopped"
    )
    p.add_argument("--keep", action="store_true", help="keep the built site and say where")
    p.add_argument("build_args", nargs="*", help="after --: more arguments for build.py")
    args = p.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    found = measure(args)
    sections.write_section(args.doc, "full", markdown(found, run.machine()))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2), encoding="utf-8")
    for name, value, limit, unit, met in judge(found):
        verdict = "met   " if met else "MISSED"
        print(f"{verdict} {name}: {_fmt(value, unit)} (limit {_fmt(limit, unit)})")
    print(f"wrote {args.doc}")
    return 0 if found["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
