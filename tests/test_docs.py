"""The README documents every command-line flag and every configuration key."""

import re

from collectwatch import cli, config, paths

README = (paths.ROOT / "README.md").read_text(encoding="utf-8")
CODE_SPANS = set(re.findall(r"`([^`\n]+)`", README))


def leaf_keys(schema, prefix=""):
    """Dotted paths of every key a schema allows; wildcards become <…>."""
    if isinstance(schema, list):
        yield from leaf_keys(schema[0], prefix)
    elif isinstance(schema, dict):
        for key, sub in schema.items():
            name = "<…>" if key == "*" else key.rstrip("?")
            path = f"{prefix}.{name}" if prefix else name
            yield path
            yield from leaf_keys(sub, path)


def documented(path: str) -> bool:
    """A key counts as documented when a code span ends with its last real component."""
    parts = [p for p in path.split(".") if p != "<…>"]
    leaf = parts[-1]
    return any(
        span == leaf
        or span.endswith("." + leaf)
        or span.startswith(leaf + ".")
        or re.search(rf"(^|[.\s]){re.escape(leaf)}($|[.\s])", span)
        for span in CODE_SPANS
    )


def test_every_cli_flag_is_in_the_readme():
    flags = [s for a in cli.parser()._actions for s in a.option_strings if s.startswith("--")]
    missing = [f for f in flags if f != "--help" and f"`{f}" not in README]
    assert not missing, missing


def test_every_config_key_is_in_the_readme():
    schemas = {
        "site.yaml": config.SITE_SCHEMA,
        "sources.yaml": config.SOURCES_SCHEMA,
        "lenders.yaml": config.LENDERS_SCHEMA,
        "taxonomy.yaml": config.TAXONOMY_SCHEMA,
    }
    missing = [
        f"{name}: {path}"
        for name, schema in schemas.items()
        for path in leaf_keys(schema)
        if not path.endswith("<…>") and not documented(path)
    ]
    assert not missing, missing


def test_the_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make site" in first_block and "make test" in first_block
