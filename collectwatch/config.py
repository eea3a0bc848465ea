"""YAML files under data/ → one validated Config. The only module that reads configuration.

Each file has a schema written as plain data: a dict of allowed keys (``"*"`` allows any
key, e.g. ids), a one-item list for "a list of these", or a type (tuple of types) for a
leaf. Keys ending in ``?`` are optional. An unknown or missing key is a UserError that
names the file and the dotted key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import paths
from .errors import UserError

STR = (str,)
OPT_STR = (str, type(None))
NUM = (int, float)
LANG_TEXT = {"en": STR, "zh": STR}

SOURCES_SCHEMA = {
    "scope": {"products": [STR]},
    "missing_values": [STR],
    "fetch": {
        "bulk_url": STR,
        "search_api_url": STR,
        "cache_dir?": STR,
        # --fetch-search: one slice of the search API; pipeline.py checks the dates. They must
        # be quoted: an unquoted YAML date is not text (and ingest hashes this config as JSON).
        "search?": {
            "date_received_min": STR,
            "date_received_max": STR,
            "company?": [STR],
            "min_interval?": NUM,
        },
    },
    "cfpb": {
        "language": STR,
        "required": [STR],
        "columns": {"*": [STR]},
        "date_formats": [STR],
    },
    "sources?": {
        "*": {
            "title": STR,
            "match_columns": [STR],
            "encoding": STR,
            "date_format": STR,
            "language": STR,
            "columns": {"*": STR},
            "in_scope?": (bool,),
            "licence?": STR,
            "url?": STR,
        }
    },
}

LENDERS_SCHEMA = {
    "legal_suffixes": [STR],
    "lenders": [{"name": STR, "slug?": STR, "aliases?": [STR]}],
}

TAXONOMY_SCHEMA = {
    "eras": [{"id": STR, "start": STR, "name": LANG_TEXT}],
    "families": {
        "*": {
            "name": LANG_TEXT,
            "seed_section?": STR,
            "general": STR,
            "in_prose?": LANG_TEXT,
        }
    },
    "behaviours": {
        "*": {
            "family": STR,
            "name": LANG_TEXT,
            "description": LANG_TEXT,
            "law?": OPT_STR,
            "text?": (bool,),
            "yields_to?": [STR],
        }
    },
    "labels": [
        {
            "issue": STR,
            "sub_issue?": OPT_STR,
            "era": STR,
            "behaviour": STR,
        }
    ],
    "narrative_rules": [
        {
            "id": STR,
            "behaviour": STR,
            "lang": STR,
            "pattern": STR,
            "negatable?": (bool,),
            "note?": STR,
        }
    ],
    "text_context?": {"*": STR},
    "channels?": [{"id": STR, "lang": STR, "pattern": STR, "name": LANG_TEXT}],
    "harm?": [{"id": STR, "lang": STR, "pattern": STR, "name": LANG_TEXT}],
    "debt_types?": [{"id": STR, "name": LANG_TEXT, "sub_products": [STR]}],
}

UI_SCHEMA = {"*": LANG_TEXT}

SITE_SCHEMA = {
    "title": LANG_TEXT,
    "base_url": STR,
    "languages": [STR],
    "min_lender_complaints": (int,),
    "top_lenders": (int,),
    "lenders_index_rows?": (int,),
    "provisional_days": (int,),
    "coverage": {"min_spread": NUM, "min_month_share": NUM, "full_rows_per_day": NUM},
    "spikes": {
        "min_count": (int,),
        "baseline_months": (int,),
        "min_ratio": NUM,
        "false_discovery_rate": NUM,
    },
    "case_studies?": {"lenders": [STR], "auto": (int,)},
    "files?": {"sources?": STR, "taxonomy?": STR, "lenders?": STR, "charts?": STR},
}


@dataclass(frozen=True)
class Config:
    """Every configuration file, loaded and validated."""

    site: dict
    sources: dict
    taxonomy: dict
    lenders: dict
    ui: dict
    files: dict[str, Path] = field(default_factory=dict)


def check(value: Any, schema: Any, where: str, key: str = "") -> None:
    """Raise UserError unless ``value`` fits ``schema``; ``where`` names the file."""
    label = key or "(top level)"
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise UserError(f"{where}: key {label} must be a mapping")
        wildcard = schema.get("*")
        allowed = {k.rstrip("?"): s for k, s in schema.items() if k != "*"}
        for k, v in value.items():
            sub = f"{key}.{k}" if key else str(k)
            if k in allowed:
                check(v, allowed[k], where, sub)
            elif wildcard is not None:
                check(v, wildcard, where, sub)
            else:
                raise UserError(f"{where}: unknown key {sub}")
        for k in schema:
            if k != "*" and not k.endswith("?") and k not in value:
                raise UserError(f"{where}: missing key {key + '.' if key else ''}{k}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise UserError(f"{where}: key {label} must be a list")
        for i, item in enumerate(value):
            check(item, schema[0], where, f"{key}[{i}]")
    elif not isinstance(value, schema) or (isinstance(value, bool) and bool not in schema):
        names = "/".join(t.__name__ for t in schema)
        raise UserError(f"{where}: key {label} must be {names}, not {type(value).__name__}")


def read_yaml(path: Path, schema: dict) -> dict:
    """Load one YAML file and validate it against ``schema``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read config: {exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{line} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    check(doc if doc is not None else {}, schema, str(path))
    return doc


def cross_check_taxonomy(tax: dict, where: str) -> None:
    """Every reference inside the taxonomy must point at something defined there."""
    eras = {e["id"] for e in tax["eras"]} | {"all"}
    for fid, fam in tax["families"].items():
        if fam["general"] not in tax["behaviours"]:
            raise UserError(
                f"{where}: families.{fid}.general names unknown behaviour {fam['general']!r}"
            )
    for bid, b in tax["behaviours"].items():
        if b["family"] not in tax["families"]:
            raise UserError(f"{where}: behaviours.{bid}.family is unknown: {b['family']!r}")
    for i, lab in enumerate(tax["labels"]):
        if lab["behaviour"] not in tax["behaviours"]:
            raise UserError(f"{where}: labels[{i}].behaviour is unknown: {lab['behaviour']!r}")
        if lab["era"] not in eras:
            raise UserError(f"{where}: labels[{i}].era is unknown: {lab['era']!r}")
    for bid, b in tax["behaviours"].items():
        for other in b.get("yields_to", []):
            if other not in tax["behaviours"]:
                raise UserError(f"{where}: behaviours.{bid}.yields_to names unknown {other!r}")
    for i, rule in enumerate(tax["narrative_rules"]):
        if rule["behaviour"] not in tax["behaviours"]:
            raise UserError(
                f"{where}: narrative_rules[{i}].behaviour is unknown: {rule['behaviour']!r}"
            )


def check_spikes(spikes: dict, where: str) -> None:
    """The spike settings must be in range (the statistics divide by baseline_months − 1)."""
    for key, lo in (("min_count", 1), ("baseline_months", 2), ("min_ratio", 1)):
        if spikes[key] < lo:
            raise UserError(f"{where}: spikes.{key} must be at least {lo}, not {spikes[key]}")
    if not 0 < spikes["false_discovery_rate"] < 1:
        raise UserError(
            f"{where}: spikes.false_discovery_rate must be between 0 and 1, "
            f"not {spikes['false_discovery_rate']}"
        )


def load_taxonomy(path: Path = paths.TAXONOMY_YAML) -> dict:
    """Read data/taxonomy.yaml; its references must resolve and its rules must compile."""
    from .classify import compile_rules, label_table  # the rules' own checks

    taxonomy = read_yaml(path, TAXONOMY_SCHEMA)
    cross_check_taxonomy(taxonomy, str(path))
    compile_rules(taxonomy, str(path))
    label_table(taxonomy, str(path))
    return taxonomy


def load_config(config_file: Path | None = None) -> Config:
    """Load site settings (``config_file`` or data/site.yaml) and the files it points to."""
    site_path = Path(config_file) if config_file else paths.SITE_YAML
    site = read_yaml(site_path, SITE_SCHEMA)
    check_spikes(site["spikes"], str(site_path))
    if site.get("lenders_index_rows", 1) < 1:
        raise UserError(
            f"{site_path}: lenders_index_rows must be at least 1, not {site['lenders_index_rows']}"
        )
    base = site_path.parent
    overrides = site.get("files", {})
    files = {"site": site_path}
    for name, default in (
        ("sources", paths.SOURCES_YAML),
        ("taxonomy", paths.TAXONOMY_YAML),
        ("lenders", paths.LENDERS_YAML),
        ("charts", paths.CHARTS_YAML),  # read and checked by charts.load_text (pipeline)
    ):
        files[name] = base / overrides[name] if name in overrides else default
    taxonomy = load_taxonomy(files["taxonomy"])
    return Config(
        site=site,
        sources=read_yaml(files["sources"], SOURCES_SCHEMA),
        taxonomy=taxonomy,
        lenders=read_yaml(files["lenders"], LENDERS_SCHEMA),
        ui=read_yaml(paths.UI_YAML, UI_SCHEMA),
        files=files,
    )
