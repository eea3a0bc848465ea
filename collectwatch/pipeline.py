"""Arguments → a built site: runs ingest → classify → aggregate → charts → render, timed."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import paths
from .config import load_config
from .errors import UserError
from .progress import cpu_seconds

DEMO_INPUTS = ["data/demo/cfpb_demo.csv", "data/demo/heimao_demo.csv"]


def build_time() -> datetime:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else now; always UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except ValueError:
            raise UserError(
                f"SOURCE_DATE_EPOCH: not a whole number of seconds: {epoch!r}"
            ) from None
    return datetime.now(UTC).replace(microsecond=0)


def build(
    *,
    inputs: list[str] | None = None,
    fetch: bool = False,
    fetch_search: bool = False,
    out: Path = paths.DEFAULT_OUT,
    config_file: Path | None = None,
    quiet: bool = True,
    use_cache: bool = True,
) -> dict:
    """Build the site into ``out`` and return the build report.

    ``fetch`` downloads the bulk export, ``fetch_search`` the search-API slice set in
    ``fetch.search``; with none of these and no ``inputs``, builds from the synthetic demo data.
    """
    from . import aggregate, charts, claims, classify, evaluate, ingest, render

    timings: dict[str, float] = {}  # wall seconds per stage
    cpu: dict[str, float] = {}  # CPU seconds per stage, worker processes included
    started = clock = time.perf_counter()
    cpu_clock = cpu_seconds()

    def lap(stage: str) -> None:
        nonlocal clock, cpu_clock
        now, now_cpu = time.perf_counter(), cpu_seconds()
        timings[stage] = round(now - clock, 3)
        cpu[stage] = round(now_cpu - cpu_clock, 3)
        clock, cpu_clock = now, now_cpu

    config = load_config(config_file)
    charts.config_text(config)  # every chart's text is there: fail before reading any input
    synthetic = not inputs and not fetch and not fetch_search
    download = None
    if fetch or fetch_search:
        from .fetch import download_configured

        download = download_configured(
            config.sources["fetch"],
            paths.ROOT,
            search=fetch_search,
            where=str(config.files["sources"]),
            progress=not quiet,
        )
        inputs = [download["path"]]
        lap("fetch")
    if synthetic:
        inputs = [str(paths.ROOT / p) for p in DEMO_INPUTS]

    result = ingest.read_inputs(
        inputs,
        config.sources,
        config.lenders,
        cache_dir=_cache_dir() if use_cache else None,
        progress=not quiet,
    )
    if synthetic:  # demo paths relative to the project, so the report is the same anywhere
        for item in result.inputs:
            item["path"] = os.path.relpath(item["path"].split("!")[0], paths.ROOT)
    if result.table.empty:
        read = sum(i["rows_read"] for i in result.inputs)
        raise UserError(
            f"{', '.join(i['path'] for i in result.inputs)}: no in-scope complaints "
            f"({read:,} rows read; scope is {', '.join(config.sources['scope']['products'])})"
        )
    if fetch_search:  # the slice covers the dates it asked for, complaints or not
        result.inputs[0]["requested"] = _requested(config.sources["fetch"]["search"])
    coverage = claims.coverage_table(result.activity, result.inputs, config.site["coverage"])
    lap("ingest")

    table, tags = classify.classify(result.table, config.taxonomy)
    unmapped = classify.unmapped_labels(result.table, config.taxonomy)
    lap("classify")

    generated = build_time()
    as_of = table["date_received"].max() if len(table) else None
    report = {
        "synthetic": synthetic,
        "inputs": result.inputs,
        "complaints": int(len(table)),
        "rows_rejected": int(sum(i["rows_rejected"] for i in result.inputs)),
        "unmapped_labels": unmapped,
        "lenders_folded": result.folds,
        "lender_candidate_merges": result.candidate_merges,
        "coverage": claims.summary(
            coverage, result.activity, result.inputs, config.site["coverage"]
        ),
        "data_as_of": as_of.date().isoformat() if as_of is not None else None,
        "generated_at": generated.isoformat().replace("+00:00", "Z"),
        "cache": {
            "hits": sum(i.get("cache") == "hit" for i in result.inputs),
            "misses": sum(i.get("cache") == "miss" for i in result.inputs),
        },
    }
    if download:
        report["download"] = download

    as_of_ts = as_of if as_of is not None else pd.Timestamp(generated.date())
    tables = aggregate.build_tables(
        table, tags, config.taxonomy, config.site, as_of_ts, coverage=coverage
    )
    lap("aggregate")
    site = render.plan(
        tables=tables,
        table=table,
        tags=tags,
        quarantine=result.quarantine,
        report=report,
        config=config,
        evaluation=evaluate.evaluate(table, config.taxonomy, tags),
        crosswalk=classify.crosswalk(config.taxonomy),
    )
    lap("charts_and_pages")
    render.write_site(site, Path(out), report, timings=timings, cpu=cpu, started=started)
    return report


def _requested(search: dict) -> list[str]:
    """fetch.search's dates → the first and last day asked for (the maximum is exclusive)."""
    last = pd.Timestamp(str(search["date_received_max"])) - pd.Timedelta(days=1)
    return [str(search["date_received_min"])[:10], last.date().isoformat()]


def _cache_dir() -> Path:
    folder = paths.CACHE / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
