"""The command line: builds, and bad input → one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import json

import pytest

from .conftest import real


def one_line_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_path(run_cli, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("--input", tmp_path / "nope.csv", "--out", out)
    one_line_error(proc, "nope.csv", "no such file")
    assert not out.exists()


def test_empty_file(run_cli, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    out = tmp_path / "out"
    one_line_error(run_cli("--input", f, "--out", out), "empty.csv", "empty")
    assert not out.exists()


def test_unreadable_format(run_cli, tmp_path):
    f = tmp_path / "photo.csv"
    f.write_bytes(bytes(range(256)) * 40)
    out = tmp_path / "out"
    one_line_error(run_cli("--input", f, "--out", out), "photo.csv", "header")
    assert not out.exists()


def test_missing_required_columns_are_named(run_cli, tmp_path):
    f = tmp_path / "partial.csv"
    f.write_text("Date received,Issue,Sub-issue,State\n2020-01-01,Communication tactics,,CA\n")
    out = tmp_path / "out"
    one_line_error(run_cli("--input", f, "--out", out), "partial.csv", "Product", "Company")
    assert not out.exists()


def test_aggregations_json_exits_2(run_cli, tmp_path):
    f = real("cfpb_api", "ccdb5-api_trends_yearly_product_issue.json")
    out = tmp_path / "out"
    one_line_error(run_cli("--input", f, "--out", out), f.name, "aggregations")
    assert not out.exists()


def test_bad_config_key_is_named(run_cli, tmp_path):
    from collectwatch import paths

    cfg = tmp_path / "site.yaml"
    text = paths.SITE_YAML.read_text(encoding="utf-8") + "colour_scheme: dark\n"
    cfg.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    one_line_error(run_cli("--config", cfg, "--out", out), "site.yaml", "colour_scheme")
    assert not out.exists()


def test_nested_bad_config_key_names_its_path(run_cli, tmp_path):
    from collectwatch import paths

    cfg = tmp_path / "site.yaml"
    text = paths.SITE_YAML.read_text(encoding="utf-8").replace("  min_count:", "  minimum:")
    cfg.write_text(text, encoding="utf-8")
    one_line_error(run_cli("--config", cfg, "--out", tmp_path / "o"), "spikes.minimum")


def test_an_out_of_range_setting_stops_the_build_before_it_reads_input(run_cli, tmp_path):
    from collectwatch import paths

    cfg = tmp_path / "site.yaml"
    text = paths.SITE_YAML.read_text(encoding="utf-8")
    cfg.write_text(text.replace("lenders_index_rows: 50", "lenders_index_rows: 0"), "utf-8")
    out = tmp_path / "out"
    one_line_error(run_cli("--config", cfg, "--out", out), "site.yaml", "lenders_index_rows")
    assert not out.exists()


@pytest.mark.slow
def test_real_samples_build_and_reconcile(run_cli, tmp_path):
    from .test_ingest import REAL_CSVS

    files = [real("cfpb", name) for name, _, _ in REAL_CSVS]
    out = tmp_path / "out"
    proc = run_cli("--input", *files, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    report = json.loads((out / "data/build-report.json").read_text(encoding="utf-8"))
    assert report["synthetic"] is False
    assert report["complaints"] == 4702  # 4,709 Debt collection rows, 7 held twice
    for item in report["inputs"]:
        assert item["rows_read"] == sum(
            item[k]
            for k in ("rows_in_scope", "rows_out_of_scope", "rows_rejected", "rows_duplicate")
        )
        assert len(item["sha256"]) == 64
    assert report["unmapped_labels"] == {}
    for key in ("data_as_of", "generated_at", "timings", "lenders_folded"):
        assert key in report
    # CPU seconds for every stage the wall clock times (the whole build's total aside)
    assert set(report["cpu"]) == set(report["timings"]) - {"total"}
    assert all(seconds >= 0 for seconds in report["cpu"].values())
    assert report["cpu"]["ingest"] > 0
    assert report["generated_at"] == "2026-09-21T14:13:20Z"  # SOURCE_DATE_EPOCH=1790000000
    import frictionless

    validation = frictionless.validate(str(out / "data" / "datapackage.json"))
    assert validation.valid, validation.flatten(["title", "message"])[:5]


@pytest.mark.slow
def test_demo_build_is_labelled_synthetic(run_cli, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("--out", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "data/build-report.json").read_text(encoding="utf-8"))
    assert report["synthetic"] is True
    assert {i["source"] for i in report["inputs"]} == {"cfpb", "heimao"}
    assert all(not i["path"].startswith("/") for i in report["inputs"])


@pytest.mark.slow
def test_rebuild_uses_the_cache(run_cli, tmp_path):
    out = tmp_path / "out"
    f = real("cfpb", "cfpb_2016-09_standard18_349rows.csv")
    assert run_cli("--input", f, "--out", out, "--quiet").returncode == 0
    assert run_cli("--input", f, "--out", out, "--quiet").returncode == 0
    report = json.loads((out / "data/build-report.json").read_text(encoding="utf-8"))
    assert report["inputs"][0]["cache"] == "hit"
    assert report["cache"]["hits"] == 1
