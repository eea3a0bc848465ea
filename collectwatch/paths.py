"""The one place that knows where things live. Imports nothing from the package."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
DEMO = DATA / "demo"
CONTENT = ROOT / "content"
ARTICLES = CONTENT / "articles"
CASE_STUDIES = CONTENT / "case-studies"
TEMPLATES = ROOT / "templates"
STATIC = TEMPLATES / "static"
DEFAULT_OUT = ROOT / "site"
CACHE = ROOT / ".cache"
SHARED = ROOT.parent / "shared"
REAL_DATA = SHARED / "data" / "real"

SOURCES_YAML = DATA / "sources.yaml"
TAXONOMY_YAML = DATA / "taxonomy.yaml"
LENDERS_YAML = DATA / "lenders.yaml"
SITE_YAML = DATA / "site.yaml"
UI_YAML = DATA / "ui.yaml"
TABLES_YAML = DATA / "tables.yaml"
CHARTS_YAML = DATA / "charts.yaml"
PAGES = CONTENT / "pages"
