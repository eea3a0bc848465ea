"""The publish gate: a shrunken or badly rejected build is not published."""

import json

from collectwatch.gate import main, problems


def report(complaints, read=1000, rejected=0):
    return {"complaints": complaints, "inputs": [{"rows_read": read, "rows_rejected": rejected}]}


def test_a_normal_update_goes():
    assert problems(report(1000), report(1010), max_shrink=0.02, max_rejected=0.001) == []
    assert problems({}, report(5), max_shrink=0.02, max_rejected=0.001) == []


def test_a_shrink_beyond_the_limit_stops():
    found = problems(report(1000), report(900), max_shrink=0.02, max_rejected=0.001)
    assert found and "1,000 to 900" in found[0]
    assert problems(report(1000), report(985), max_shrink=0.02, max_rejected=0.001) == []


def test_rejections_beyond_the_limit_stop():
    found = problems(
        report(100), report(100, read=1000, rejected=5), max_shrink=0.02, max_rejected=0.001
    )
    assert found and "5 of 1,000 rows rejected" in found[0]


def test_cli_exit_codes(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report(1000)))
    new.write_text(json.dumps(report(500)))
    assert main([str(old), str(new)]) == 2
    assert "not publishing" in capsys.readouterr().err
    new.write_text(json.dumps(report(1000)))
    assert main([str(old), str(new)]) == 0
    assert main([str(tmp_path / "missing.json"), str(new)]) == 0  # first publication


def test_a_site_past_the_hosts_limits_is_not_published(tmp_path, capsys):
    big = {**report(1000), "site": {"bytes": 950_000_000, "files": 42_000}}
    found = problems(report(1000), big, max_shrink=0.02, max_rejected=0.001)
    assert found == ["the site is 950,000,000 bytes, more than 900,000,000"]
    many = {**report(1000), "site": {"bytes": 1_000, "files": 120_000}}
    assert "120,000 files" in problems({}, many, max_shrink=0.02, max_rejected=0.001)[0]
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report(1000)))
    new.write_text(json.dumps(big))
    assert main([str(old), str(new)]) == 2
    assert "950,000,000 bytes" in capsys.readouterr().err
    assert main([str(old), str(new), "--max-bytes", "1000000000"]) == 0


def test_the_build_report_records_the_sites_size(tmp_path):
    from collectwatch.pipeline import build

    report_ = build(out=tmp_path / "site", quiet=True)
    files = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
    assert report_["site"]["files"] == len(files)
    on_disk = sum(p.stat().st_size for p in files if p.name != "build-report.json")
    assert report_["site"]["bytes"] == on_disk
