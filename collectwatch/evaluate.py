"""labelled complaints with narratives → how well the narrative rules agree with the labels.

The CFPB labels are what the consumer picked from a menu; the narrative is what they wrote.
Treating the label as truth and the text rules as predictions measures the rules that we
rely on where there are no labels (Chinese complaints, other sources). The label is a single
choice, so a narrative that rightly mentions a second behaviour counts as a false positive:
precision here is a lower bound.

    python -m collectwatch.evaluate FILE [FILE ...]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from .classify import classify
from .config import load_config
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


def _load(files: list[str]) -> tuple[pd.DataFrame, dict]:
    """Canonical table (through the ingest stage) and the configured taxonomy."""
    config = load_config()
    result = read_inputs(files, config.sources, config.lenders)
    return result.table, config.taxonomy


def main(argv: list[str] | None = None) -> int:
    """Print the evaluation report for the given CFPB export files."""
    parser = argparse.ArgumentParser(
        prog="python -m collectwatch.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="CFPB CSV export(s)")
    args = parser.parse_args(argv)
    try:
        df, taxonomy = _load(args.files)
        print(format_report(evaluate(df, taxonomy)))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
