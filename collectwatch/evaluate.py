"""How far the narrative rules can be relied on: two measurements.

1. **Gold set** (the headline): real complaint texts labelled by two people and adjudicated
   (data/gold, docs/annotation.md). The rules are scored per behaviour and per family on the
   dev half (which rules may be tuned against) and the held-out test half, with 95% Wilson
   intervals. ``python -m collectwatch.evaluate --gold`` scores them and writes
   data/gold/results.json, which the methodology page reads (so a build never needs the
   texts, which live outside the repository).
2. **CFPB labels** (a second view): the label is what the consumer picked from a menu, the
   narrative what they wrote. The label is a single choice, so a narrative that rightly
   mentions a second behaviour counts as a false positive: precision there is a lower bound.

    python -m collectwatch.evaluate FILE [FILE ...]     # rules vs. CFPB labels
    python -m collectwatch.evaluate --gold [--write]    # rules vs. the gold set
"""

from __future__ import annotations

import argparse
import copy
import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import pandas as pd

from . import paths
from .classify import classify, text_behaviours
from .config import load_config, load_taxonomy
from .errors import UserError
from .ingest import read_inputs
from .text import published

MIN_SUPPORT = 10  # below this many labelled complaints a precision or recall says little
PRECISION_GOAL = 0.8
TOP_CONFUSIONS = 3


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _scores(truth: pd.DataFrame, pred: pd.DataFrame, key: str, names: list[str]) -> pd.DataFrame:
    """tp/fp/fn per value of ``key``; ``truth``/``pred`` are (row, key) pairs."""
    t = set(zip(truth["row"], truth[key], strict=True))
    p = set(zip(pred["row"], pred[key], strict=True))
    rows = []
    for name in names:
        tt = {r for r, k in t if k == name}
        pp = {r for r, k in p if k == name}
        tp, fp, fn = len(tt & pp), len(pp - tt), len(tt - pp)
        rows.append(
            {
                key: name,
                "support": len(tt),
                "predicted": len(pp),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": _ratio(tp, tp + fp),
                "recall": _ratio(tp, tp + fn),
                "judged": len(tt) >= MIN_SUPPORT,
            }
        )
    out = pd.DataFrame(rows)
    for col in ("precision", "recall"):
        # Rebuilt as object so an undefined ratio stays None (a float column would make NaN).
        out[col] = pd.Series([r[col] for r in rows], dtype=object)
    return out


def evaluate(df: pd.DataFrame, taxonomy: dict, tags: pd.DataFrame | None = None) -> dict:
    """Score the narrative rules against the labels of ``df`` (a canonical table).

    Only complaints that have both a mapped label and a narrative count. Returns a dict:

    * ``complaints``: how many complaints were scored;
    * ``per_behaviour``: one row per behaviour with ``behaviour, family, support`` (labelled
      complaints), ``predicted``, ``tp, fp, fn, precision, recall`` (None when undefined) and
      ``judged`` (support >= MIN_SUPPORT);
    * ``per_family``: the same, one row per family;
    * ``confusion``: for complaints the text tagged B but whose label is another behaviour,
      which behaviour the label gave: ``predicted, actual, complaints, share`` (share of all
      text predictions of B), the top few per B.
    """
    if tags is None:  # the build passes the tags it already has
        _, tags = classify(df, taxonomy)
    tags = tags.assign(row=tags["source"] + "\x1f" + tags["complaint_id"])
    labelled = set(tags.loc[tags["kind"] == "label", "row"])
    has_text = published(df["narrative"])
    with_text = set((df["source"] + "\x1f" + df["complaint_id"])[has_text])
    scored = labelled & with_text
    tags = tags[tags["row"].isin(scored)]
    truth = tags[tags["kind"] == "label"].drop_duplicates(["row", "behaviour"])
    pred = tags[tags["kind"] == "text"].drop_duplicates(["row", "behaviour"])

    behaviours = list(taxonomy["behaviours"])
    per_b = _scores(truth, pred, "behaviour", behaviours)
    per_b.insert(
        1,
        "family",
        per_b["behaviour"].map({b: v["family"] for b, v in taxonomy["behaviours"].items()}),
    )
    per_f = _scores(
        truth.drop_duplicates(["row", "family"]),
        pred.drop_duplicates(["row", "family"]),
        "family",
        list(taxonomy["families"]),
    )

    wrong = pred.merge(truth[["row", "behaviour"]], on="row", suffixes=("", "_label"))
    wrong = wrong[wrong["behaviour"] != wrong["behaviour_label"]]
    # A complaint whose label agrees is not a confusion, even if it has a second label row.
    agree = set(zip(truth["row"], truth["behaviour"], strict=True))
    keep = [(r, b) not in agree for r, b in zip(wrong["row"], wrong["behaviour"], strict=True)]
    wrong = wrong.loc[pd.Series(keep, index=wrong.index, dtype=bool)]
    conf = (
        wrong.groupby(["behaviour", "behaviour_label"])
        .size()
        .rename("complaints")
        .reset_index()
        .rename(columns={"behaviour": "predicted", "behaviour_label": "actual"})
    )
    totals = per_b.set_index("behaviour")["predicted"]
    conf["share"] = conf["complaints"] / conf["predicted"].map(totals).astype("float64")
    conf = (
        conf.sort_values(["predicted", "complaints", "actual"], ascending=[True, False, True])
        .groupby("predicted")
        .head(TOP_CONFUSIONS)
        .reset_index(drop=True)
    )
    return {
        "complaints": len(scored),
        "per_behaviour": per_b,
        "per_family": per_f,
        "confusion": conf,
    }


def _fmt(x: float | None) -> str:
    return "   –" if x is None else f"{x:.2f}"


def _table(scores: pd.DataFrame, key: str) -> list[str]:
    lines = [
        f"{key:<24} {'support':>7} {'pred':>5} {'tp':>4} {'fp':>4} {'fn':>4} "
        f"{'prec':>5} {'recall':>6}  note"
    ]
    for r in scores.itertuples(index=False):
        r = r._asdict()
        if not r["judged"]:
            note = "too few to judge"
        elif r["precision"] is not None and r["precision"] < PRECISION_GOAL:
            note = f"precision below {PRECISION_GOAL}"
        else:
            note = ""
        lines.append(
            f"{r[key]:<24} {r['support']:>7} {r['predicted']:>5} {r['tp']:>4} {r['fp']:>4} "
            f"{r['fn']:>4} {_fmt(r['precision']):>5} {_fmt(r['recall']):>6}  {note}".rstrip()
        )
    return lines


def format_report(result: dict) -> str:
    """The evaluation as plain text: per behaviour, per family, then top confusions."""
    out = [
        f"Narrative rules vs. CFPB labels on {result['complaints']} labelled complaints "
        "with narratives.",
        f"Label = truth, text rule = prediction. Behaviours with support < {MIN_SUPPORT} are "
        "too few to judge; '–' means undefined (nothing to divide by).",
        "",
        *_table(result["per_behaviour"], "behaviour"),
        "",
        *_table(result["per_family"], "family"),
        "",
        "Top confusions (text says → label says):",
    ]
    for r in result["confusion"].itertuples(index=False):
        out.append(f"  {r.predicted:<24} → {r.actual:<24} {r.complaints:>4}  ({r.share:.0%})")
    return "\n".join(out)


# --- the gold set ------------------------------------------------------------------------------

GOLD_DIR = paths.DATA / "gold"
GOLD_RESULTS = GOLD_DIR / "results.json"
GOLD_AGREEMENT = GOLD_DIR / "agreement.json"
GOLD_LABELS = "labels_gold.csv"
# A behaviour (or family) with fewer gold positives than this in a half is reported but not
# judged: with 30 positives a precision of 0.9 still has a 95% interval about 0.2 wide.
GOLD_MIN_SUPPORT = 30
GOLD_PRECISION_GOAL = 0.9
SPLITS = ("dev", "test")
Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval for ``k`` successes in ``n`` trials (None, None if n = 0)."""
    if n == 0:
        return None, None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def read_label_file(path: Path) -> dict[str, list[str]]:
    """``labels_<name>.csv`` (docs/annotation.md §6) → {item_id: [behaviour, …]}."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["item_id"]: (r["behaviours"] or "").split() for r in csv.DictReader(fh)}


def load_gold(directory: Path = GOLD_DIR) -> pd.DataFrame:
    """The gold set without its texts: ``item_id, language, split, behaviours`` (a list).

    Reads ``items.csv`` and the adjudicated ``labels_gold.csv``; every item must be labelled.
    """
    try:
        items = pd.read_csv(directory / "items.csv", dtype="str", keep_default_na=False)
        labels = read_label_file(directory / GOLD_LABELS)
    except OSError as exc:
        raise UserError(f"gold set: cannot read {exc.filename}: {exc.strerror}") from None
    missing = sorted(set(items["item_id"]) - set(labels))
    if missing:
        raise UserError(
            f"{directory / GOLD_LABELS}: {len(missing)} items not labelled, first {missing[0]}"
        )
    gold = items[["item_id", "language", "split"]].copy()
    gold["behaviours"] = [labels[i] for i in gold["item_id"]]
    return gold.reset_index(drop=True)


def _gold_script(name: str, directory: Path):
    """Import one of data/gold's scripts (they are not part of the package)."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))  # texts.py imports its sibling corpus.py
    spec = importlib.util.spec_from_file_location(f"_gold_{name}", directory / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gold_texts(directory: Path = GOLD_DIR) -> pd.Series | None:
    """item_id → complaint text, read from the shared real data (not from the repository).

    None when the real data is not there (a fresh clone, the publish job): callers then fall
    back on the committed results.
    """
    corpus = _gold_script("corpus", directory)
    if not Path(corpus.DATA_ROOT).is_dir():
        return None
    texts = _gold_script("texts", directory)
    pairs = {iid: text for iid, _, text in texts.iter_texts(directory / "items.csv")}
    return pd.Series(pairs, dtype="str", name="text")


def every_rule(taxonomy: dict) -> dict:
    """The taxonomy with every behaviour read from text, to score rules that are switched off."""
    out = copy.deepcopy(taxonomy)
    for b in out["behaviours"].values():
        b.pop("text", None)
    return out


def gold_predictions(gold: pd.DataFrame, texts: pd.Series, taxonomy: dict) -> pd.DataFrame:
    """Run the real classifier over the gold texts: one row per (item_id, behaviour) that the
    narrative rules (``kind == "text"``) tag."""
    df = pd.DataFrame(
        {
            "source": "gold",
            "complaint_id": gold["item_id"],
            "issue": None,
            "sub_issue": None,
            "narrative": gold["item_id"].map(texts),
            "language": gold["language"],
        }
    )
    _, tags = classify(df, taxonomy)
    text = tags[tags["kind"] == "text"]
    out = text[["complaint_id", "behaviour"]].drop_duplicates()
    return out.rename(columns={"complaint_id": "item_id"}).reset_index(drop=True)


def _gold_rows(truth: set, pred: set, names: list[str], key: str) -> list[dict]:
    """Counts, precision and recall with Wilson intervals per name; truth/pred hold
    (item_id, name) pairs."""
    rows = []
    for name in names:
        t = {i for i, k in truth if k == name}
        p = {i for i, k in pred if k == name}
        tp, fp, fn = len(t & p), len(p - t), len(t - p)
        p_lo, p_hi = wilson(tp, tp + fp)
        r_lo, r_hi = wilson(tp, tp + fn)
        rows.append(
            {
                key: name,
                "support": len(t),
                "predicted": len(p),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": _ratio(tp, tp + fp),
                "precision_lo": p_lo,
                "precision_hi": p_hi,
                "recall": _ratio(tp, tp + fn),
                "recall_lo": r_lo,
                "recall_hi": r_hi,
                "judged": len(t) >= GOLD_MIN_SUPPORT,
            }
        )
    return rows


def _pairs(pred: pd.DataFrame, items: set[str]) -> set[tuple[str, str]]:
    """(item_id, behaviour) pairs of ``pred`` for the given items."""
    return {(i, b) for i, b in zip(pred["item_id"], pred["behaviour"], strict=True) if i in items}


def score_gold(
    gold: pd.DataFrame, predicted: pd.DataFrame, taxonomy: dict, all_rules: pd.DataFrame
) -> dict:
    """Score text tags against the gold labels, per split, per behaviour and per family.

    ``gold`` is :func:`load_gold`'s frame; ``predicted`` the (item_id, behaviour) pairs the
    site's rules tag; ``all_rules`` the same with every rule switched on (so a behaviour that
    the site takes from labels only still shows how its rules did). Returns
    ``{split: {"items", "per_behaviour": [...], "per_family": [...]}}`` for dev and test:
    each row has support, predicted, tp, fp, fn, precision and recall (None when undefined)
    with 95% Wilson bounds, ``judged`` (support ≥ GOLD_MIN_SUPPORT), ``text`` (read from text
    on the site) and ``below_goal`` (judged, read from text, and a precision under the goal;
    a family whose rules tag nothing in the half has no precision and is not below it).
    """
    behaviours = list(taxonomy["behaviours"])
    fam = {b: v["family"] for b, v in taxonomy["behaviours"].items()}
    from_text = text_behaviours(taxonomy)
    out = {}
    for split in SPLITS:
        items = set(gold.loc[gold["split"] == split, "item_id"])
        truth = {
            (i, b)
            for i, bs in zip(gold["item_id"], gold["behaviours"], strict=True)
            if i in items
            for b in bs
        }
        site = _pairs(predicted, items)
        every = _pairs(all_rules, items)
        # A label-only behaviour is scored on what its rules would tag, marked text: false.
        pred = {(i, b) for i, b in site if b in from_text} | {
            (i, b) for i, b in every if b not in from_text
        }
        per_b = _gold_rows(truth, pred, behaviours, "behaviour")
        for r in per_b:
            r["family"] = fam[r["behaviour"]]
            r["text"] = r["behaviour"] in from_text
        per_f = _gold_rows(
            {(i, fam[b]) for i, b in truth},
            {(i, fam[b]) for i, b in site},
            list(taxonomy["families"]),
            "family",
        )
        for r in per_f:
            r["text"] = any(fam[b] == r["family"] for b in from_text)
        for r in per_b + per_f:
            r["below_goal"] = bool(
                r["judged"]
                and r["text"]
                and r["precision"] is not None
                and r["precision"] < GOLD_PRECISION_GOAL
            )
        out[split] = {"items": len(items), "per_behaviour": per_b, "per_family": per_f}
    return out


def gold_results(directory: Path = GOLD_DIR, taxonomy: dict | None = None) -> dict | None:
    """A fresh gold evaluation as results.json holds it, or None without the real data."""
    taxonomy = taxonomy or load_taxonomy()
    gold = load_gold(directory)
    texts = gold_texts(directory)
    if texts is None:
        return None
    predicted = gold_predictions(gold, texts, taxonomy)
    all_rules = gold_predictions(gold, texts, every_rule(taxonomy))
    agreement = json.loads((directory / "agreement.json").read_text("utf-8"))
    return {
        "gold_date": agreement["gold_date"],
        "items": len(gold),
        "min_support": GOLD_MIN_SUPPORT,
        "precision_goal": GOLD_PRECISION_GOAL,
        "label_only": sorted(set(taxonomy["behaviours"]) - text_behaviours(taxonomy)),
        "kappa": agreement["kappa_family"],
        "splits": score_gold(gold, predicted, taxonomy, all_rules),
    }


def kappa(a: list[bool], b: list[bool]) -> float | None:
    """Cohen's κ of two yes/no ratings of the same items (None when both are constant)."""
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return None if pe == 1 else (po - pe) / (1 - pe)


KAPPA_MIN_TAGGED = 10  # docs/annotation.md §7: κ per behaviour is judged only above this


def agreement_figures(
    a: dict[str, list[str]], b: dict[str, list[str]], gold: pd.DataFrame, taxonomy: dict
) -> dict:
    """Agreement between two labellers over the gold items (docs/annotation.md §7).

    Returns κ per family overall and per language, κ per behaviour with how many items each
    labeller tagged (``judged`` when both tagged at least KAPPA_MIN_TAGGED), and how many
    items the two disagreed on (every one of them adjudicated in labels_gold.csv).
    """
    fam = {x: v["family"] for x, v in taxonomy["behaviours"].items()}
    ids = list(gold["item_id"])
    lang = dict(zip(gold["item_id"], gold["language"], strict=True))

    def has(labels, i, test):
        return any(test(x) for x in labels[i])

    def k_family(f, keep):
        sel = [i for i in ids if keep(i)]
        return kappa(
            [has(a, i, lambda x: fam[x] == f) for i in sel],
            [has(b, i, lambda x: fam[x] == f) for i in sel],
        )

    per_b = {}
    for x in taxonomy["behaviours"]:
        ya, yb = [x in a[i] for i in ids], [x in b[i] for i in ids]
        per_b[x] = {
            "kappa": kappa(ya, yb),
            "a": sum(ya),
            "b": sum(yb),
            "both": sum(p and q for p, q in zip(ya, yb, strict=True)),
            "judged": min(sum(ya), sum(yb)) >= KAPPA_MIN_TAGGED,
        }
    return {
        "items": len(ids),
        "disagreements": sum(set(a[i]) != set(b[i]) for i in ids),
        "kappa_family": {f: k_family(f, lambda i: True) for f in taxonomy["families"]},
        "kappa_family_by_language": {
            lg: {f: k_family(f, lambda i, lg=lg: lang[i] == lg) for f in taxonomy["families"]}
            for lg in sorted(set(lang.values()))
        },
        "kappa_behaviour": per_b,
    }


def read_gold_results(path: Path = GOLD_RESULTS) -> dict | None:
    """The committed results (written by ``make eval``), or None if there are none yet."""
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _interval(x, lo, hi) -> str:
    return "   –            " if x is None else f"{x:.2f} [{lo:.2f}–{hi:.2f}]"


def format_gold_report(results: dict, split: str = "test") -> str:
    """The gold evaluation of one half as plain text."""
    s = results["splits"][split]
    out = [
        f"Narrative rules vs. the gold set ({results['gold_date']}), {split} half: "
        f"{s['items']} texts. Precision and recall with 95% Wilson intervals; judged when "
        f"support >= {results['min_support']}; goal: precision >= {results['precision_goal']}.",
        "",
        f"{'behaviour':<24} {'supp':>4} {'pred':>4} {'tp':>3} {'fp':>3} {'fn':>3} "
        f"{'precision':>16} {'recall':>16}  note",
    ]
    for key, rows in (("behaviour", s["per_behaviour"]), ("family", s["per_family"])):
        if key == "family":
            out += ["", f"{'family':<24}"]
        for r in rows:
            note = "" if r["judged"] else "too few to judge"
            if not r["text"]:
                note = "label only (rules not used)"
            elif r["below_goal"]:
                note = f"precision below {results['precision_goal']}"
            elif r["predicted"] == 0:
                note = "nothing tagged from text"
            out.append(
                f"{r[key]:<24} {r['support']:>4} {r['predicted']:>4} {r['tp']:>3} {r['fp']:>3} "
                f"{r['fn']:>3} {_interval(r['precision'], r['precision_lo'], r['precision_hi'])} "
                f"{_interval(r['recall'], r['recall_lo'], r['recall_hi'])}  {note}".rstrip()
            )
    kappa = ", ".join(f"{f} {k:.2f}" for f, k in results["kappa"].items())
    out += ["", f"Agreement between the two labellers (Cohen's kappa per family): {kappa}"]
    return "\n".join(out)


def _load(files: list[str]) -> tuple[pd.DataFrame, dict]:
    """Canonical table (through the ingest stage) and the configured taxonomy."""
    config = load_config()
    result = read_inputs(files, config.sources, config.lenders)
    return result.table, config.taxonomy


def write_agreement(directory: Path = GOLD_DIR, taxonomy: dict | None = None) -> dict:
    """Recompute agreement.json from labels_a.csv and labels_b.csv.

    ``gold_date`` is the day the adjudicated labels took their present form: it is kept while
    labels_gold.csv is unchanged (same SHA-1) and set to today when the file changed.
    """
    import datetime
    import hashlib

    taxonomy = taxonomy or load_taxonomy()
    gold = load_gold(directory)
    figures = agreement_figures(
        read_label_file(directory / "labels_a.csv"),
        read_label_file(directory / "labels_b.csv"),
        gold,
        taxonomy,
    )
    sha = hashlib.sha1((directory / GOLD_LABELS).read_bytes()).hexdigest()
    path = directory / "agreement.json"
    old = json.loads(path.read_text("utf-8")) if path.exists() else {}
    same = old.get("labels_gold_sha1") == sha and "gold_date" in old
    date = old["gold_date"] if same else datetime.date.today().isoformat()
    out = {"gold_date": date, "labels_gold_sha1": sha, **figures}
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the evaluation against CFPB labels (FILE …) or against the gold set (--gold)."""
    parser = argparse.ArgumentParser(
        prog="python -m collectwatch.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="CFPB CSV export(s)")
    parser.add_argument(
        "--gold", action="store_true", help="score the rules against data/gold (needs ../shared)"
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="with --gold: also rewrite data/gold/agreement.json and data/gold/results.json",
    )
    parser.add_argument(
        "--split", choices=SPLITS, default="test", help="with --gold: the half to print (test)"
    )
    args = parser.parse_args(argv)
    if not args.gold and not args.files:
        parser.error("give CFPB files, or --gold")
    try:
        if args.files:
            df, taxonomy = _load(args.files)
            print(format_report(evaluate(df, taxonomy)))
        if args.gold:
            if args.write:
                write_agreement()
            results = gold_results()
            if results is None:
                raise UserError(
                    "the gold texts are read from the real data, which is not there; "
                    f"the committed results are in {GOLD_RESULTS}"
                )
            if args.write:
                GOLD_RESULTS.write_text(
                    json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8"
                )
            print(("\n\n" if args.files else "") + format_gold_report(results, args.split))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
