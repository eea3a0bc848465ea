"""Shared fixtures: configuration, the real samples in ../shared, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from collectwatch import paths
from collectwatch.config import load_config

# CI runs the same examples every time, so a red build always means a change broke
# something; local runs keep exploring new random inputs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REAL = paths.REAL_DATA
REAL_CFPB = REAL / "cfpb"
REAL_API = REAL / "cfpb_api"
REAL_CN = REAL / "cn"


def real(*parts: str) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample {path} is not here (../shared/data/real)")
    return path


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def run_cli(tmp_path):
    """Run `python build.py ARGS` in a subprocess; returns CompletedProcess."""

    def run(*args: str, env: dict | None = None, timeout: float = 300):
        return subprocess.run(
            [sys.executable, str(paths.ROOT / "build.py"), *map(str, args)],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "SOURCE_DATE_EPOCH": "1790000000", **(env or {})},
        )

    return run
