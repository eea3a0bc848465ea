"""aggregate: hand-computed tables from a small classified frame, statistics, spikes, edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from collectwatch import aggregate
from collectwatch.aggregate import MARKET, build_tables, provisional, wilson
from collectwatch.errors import UserError

TAXONOMY = {
    "eras": [
        {"id": "e2011", "start": "2011-12-01", "name": {"en": "First labels", "zh": "初版标签"}},
        {"id": "e2017", "start": "2017-04-24", "name": {"en": "2017 labels", "zh": "2017 标签"}},
        {"id": "e2023", "start": "2023-08-24", "name": {"en": "2023 labels", "zh": "2023 标签"}},
    ],
    "families": {
        "harassment": {"name": {"en": "Harassing contact", "zh": "骚扰"}, "general": "calls"},
        "threats": {"name": {"en": "Abuse and threats", "zh": "威胁恐吓"}, "general": "threat"},
        "disclosure": {"name": {"en": "Disclosure", "zh": "信息泄露"}, "general": "third_party"},
    },
    "behaviours": {
        "calls": {"family": "harassment", "name": {"en": "Repeated calls", "zh": "频繁来电"}},
        "night": {
            "family": "harassment",
            "name": {"en": "Calls at night", "zh": "深夜催收"},
            "law": "15 U.S.C. §1692c(a)(1)",
        },
        "threat": {"family": "threats", "name": {"en": "Threats", "zh": "威胁"}},
        "third_party": {"family": "disclosure", "name": {"en": "Told others", "zh": "告知他人"}},
        # Never tagged below: a behaviour with zero support.
        "unused": {"family": "disclosure", "name": {"en": "Never seen", "zh": "未出现"}},
    },
}
for _b in TAXONOMY["behaviours"].values():
    _b["description"] = {"en": "", "zh": ""}

SITE = {
    "min_lender_complaints": 3,
    "provisional_days": 30,
    "spikes": {
        "min_count": 5,
        "baseline_months": 12,
        "min_ratio": 1.5,
        "false_discovery_rate": 0.05,
    },
}
AS_OF = pd.Timestamp("2024-04-30")

NA = pd.NA
EXPL = "Closed with explanation"
MONEY = "Closed with monetary relief"
NON_MONEY = "Closed with non-monetary relief"
# Four lenders, thirteen complaints, 2023-11 … 2024-04 with no complaint at all in 2024-03.
# Dot has a single complaint (below min_lender_complaints = 3).
ROWS = [
    # id, lender, date, behaviours, state, narrative, response, timely, language
    ("1", "Acme", "2023-11-15", ["calls"], "CA", "They call daily", EXPL, True, "en"),
    ("2", "Acme", "2024-01-05", ["calls", "night"], "CA", NA, MONEY, True, "en"),
    ("3", "Acme", "2024-01-20", ["threat"], "NY", "催收员威胁我", NON_MONEY, False, "zh"),
    ("4", "Acme", "2024-02-10", ["calls"], "NY", NA, EXPL, True, "en"),
    ("5", "Acme", "2024-04-02", [], "CA", NA, "In progress", NA, "en"),
    ("6", "Beta", "2023-12-01", ["third_party"], "TX", "They told my boss", EXPL, True, "en"),
    ("7", "Beta", "2024-01-11", ["calls", "calls"], "TX", NA, EXPL, True, "en"),
    ("8", "Beta", "2024-02-28", ["threat", "third_party"], NA, NA, "Closed", False, "en"),
    ("9", "Beta", "2024-04-30", [], "TX", "   ", NA, NA, "en"),
    ("10", "Cobalt", "2024-01-31", ["calls"], "CA", NA, "Untimely response", False, "en"),
    ("11", "Cobalt", "2024-02-01", [], "CA", NA, EXPL, True, "en"),
    ("12", "Cobalt", "2024-04-15", ["night"], "NY", NA, EXPL, True, "en"),
    ("13", "Dot", "2024-02-14", ["threat"], "NY", NA, EXPL, True, "en"),
]


def complaints(rows) -> pd.DataFrame:
    """Rows of (id, lender, date, behaviours, state, narrative, response, timely, language)
    → a classified canonical table with the dtypes ingest and classify produce."""
    cols = [
        "complaint_id",
        "lender",
        "date_received",
        "behaviours",
        "state",
        "narrative",
        "company_response",
        "timely",
        "language",
    ]
    df = pd.DataFrame(list(rows), columns=cols)
    df.insert(0, "source", "cfpb")
    df["date_received"] = pd.to_datetime(df["date_received"]).astype("datetime64[s]")
    df["lender_slug"] = df["lender"].str.lower().str.replace(" ", "-")
    df["lender_raw"] = df["lender"].str.upper()
    for col in ("product", "sub_product", "issue", "sub_issue", "submitted_via"):
        df[col] = pd.Series(NA, index=df.index, dtype="string")
    for col in ("state", "narrative", "company_response", "language", "complaint_id"):
        df[col] = df[col].astype("string")
    df["timely"] = df["timely"].astype("boolean")
    return df


def classified() -> pd.DataFrame:
    return complaints(ROWS)


def tags() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["cfpb", "cfpb", "cfpb"],
            "complaint_id": ["3", "6", "2"],
            "behaviour": ["threat", "third_party", "calls"],
            "family": ["threats", "disclosure", "harassment"],
            "rule": ["zh-threat", "en-boss", "label"],
            "kind": ["text", "text", "label"],
            "span": ["威胁", "told my boss", "Frequent or repeated calls"],
        }
    )


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_tables(classified(), tags(), TAXONOMY, SITE, AS_OF)


def rows_of(df: pd.DataFrame, **where) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for col, value in where.items():
        mask &= (df[col] == value).to_numpy(dtype=bool)
    return df[mask]


def one(df: pd.DataFrame, **where) -> pd.Series:
    found = rows_of(df, **where)
    assert len(found) == 1, f"{where}: {len(found)} rows"
    return found.iloc[0]


def months(*labels: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(m + "-01") for m in labels]


# ── statistics ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (81, 263, 0.2553, 0.3662),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_matches_published_values(k, n, lo, hi):
    got_lo, got_hi = wilson(k, n)
    assert round(float(got_lo), 4) == lo
    assert round(float(got_hi), 4) == hi


def test_wilson_is_vectorised_and_gives_na_for_no_trials():
    k = pd.Series([0, 5, 3], index=["a", "b", "c"])
    n = pd.Series([10, 10, 0], index=["a", "b", "c"])
    lo, hi = wilson(k, n)
    assert list(lo.index) == ["a", "b", "c"]
    assert str(lo.dtype) == "Float64"
    assert lo.round(4).tolist()[:2] == [0.0, 0.2366]
    assert pd.isna(lo["c"]) and pd.isna(hi["c"])
    arr_lo, arr_hi = wilson(np.array([1, 2]), np.array([4, 4]))
    assert arr_lo.shape == (2,) and (arr_lo < arr_hi).all()


def test_ratio_is_na_not_nan_or_inf_when_dividing_by_zero():
    out = aggregate.ratio([1, 0, 2], [0, 0, 4])
    assert pd.isna(out[0]) and pd.isna(out[1]) and out[2] == 0.5
    assert not np.isnan(out.to_numpy(dtype="float64", na_value=0.0)).any()


# ── per-lender tables ──────────────────────────────────────────────────────────────────


def test_lenders_totals_ranks_dates_and_narrative_coverage(tables):
    lenders = tables["lenders"]
    assert lenders["lender"].tolist() == ["Acme", "Beta", "Cobalt", "Dot"]
    assert lenders["complaints"].tolist() == [5, 4, 3, 1]
    assert lenders["rank"].tolist() == [1, 2, 3, 4]
    acme = one(lenders, lender="Acme")
    assert acme["lender_slug"] == "acme"
    assert acme["first_date"] == pd.Timestamp("2023-11-15")
    assert acme["last_date"] == pd.Timestamp("2024-04-02")
    assert acme["narratives"] == 2 and acme["narrative_share"] == pytest.approx(0.4)
    assert acme["tagged"] == 4 and acme["tagged_share"] == pytest.approx(0.8)
    # A narrative of blanks is not published text.
    assert one(lenders, lender="Beta")["narratives"] == 1
    assert lenders["in_peer_group"].tolist() == [True, True, True, False]


def test_lenders_with_equal_counts_share_a_rank():
    rows = [
        (str(i), name, "2024-01-02", [], NA, NA, NA, NA, "en")
        for i, name in enumerate(["B", "B", "A", "A", "C"])
    ]
    out = build_tables(complaints(rows), tags().iloc[:0], TAXONOMY, SITE, AS_OF)["lenders"]
    assert out["lender"].tolist() == ["A", "B", "C"]
    assert out["rank"].tolist() == [1, 1, 3]


def test_responses_outcomes_relief_and_timely_rates(tables):
    resp = tables["responses"]
    acme = one(resp, lender="Acme")
    assert (acme["monetary_relief"], acme["non_monetary_relief"], acme["explanation"]) == (1, 1, 2)
    assert acme["in_progress"] == 1 and acme["closed_total"] == 4 and acme["relief_total"] == 2
    assert acme["relief_rate"] == pytest.approx(0.5)
    assert acme["timely_known"] == 4 and acme["timely_yes"] == 3
    assert acme["timely_rate"] == pytest.approx(0.75)
    assert (round(acme["timely_lo"], 4), round(acme["timely_hi"], 4)) == (0.3006, 0.9544)
    beta = one(resp, lender="Beta")
    assert (beta["closed"], beta["other"], beta["closed_total"]) == (1, 1, 3)
    assert beta["relief_rate"] == 0
    assert one(resp, lender="Cobalt")["untimely"] == 1
    market = one(resp, lender=MARKET)
    assert market["complaints"] == 13 and pd.isna(market["lender_slug"])
    assert market["relief_total"] == 2 and market["closed_total"] == 10
    assert market["timely_known"] == 11 and market["timely_yes"] == 8
    outcome_cols = aggregate.OUTCOMES
    assert (resp[outcome_cols].sum(axis=1) == resp["complaints"]).all()


def test_coverage_by_year_lender_and_language(tables):
    cov = tables["coverage"]
    total = one(cov, dimension="all")
    assert (total["complaints"], total["narratives"], total["text_tagged"]) == (13, 3, 2)
    y2023 = one(cov, dimension="year", value="2023")
    assert (y2023["complaints"], y2023["narratives"], y2023["narrative_share"]) == (2, 2, 1.0)
    assert not y2023["provisional"] and one(cov, dimension="year", value="2024")["provisional"]
    zh = one(cov, dimension="language", value="zh")
    assert (zh["complaints"], zh["narratives"], zh["text_tagged"]) == (1, 1, 1)
    assert one(cov, dimension="lender", value="Cobalt")["narrative_share"] == 0


# ── debt types, channels and harm words ────────────────────────────────────────────────

TEXT_TAXONOMY = {
    **TAXONOMY,
    "channels": [
        {"id": "calls_en", "lang": "en", "pattern": r"\bcall(?:s|ed|ing)?\b", "name": {}},
        {"id": "calls_zh", "lang": "zh", "pattern": "电话", "name": {}},
        {"id": "letters_en", "lang": "en", "pattern": r"\bletters?\b", "name": {}},
    ],
    "harm": [
        {"id": "distress_en", "lang": "en", "pattern": r"\b(?:scared|anxiety)\b", "name": {}},
        {"id": "distress_zh", "lang": "zh", "pattern": "焦虑|害怕", "name": {}},
    ],
    "debt_types": [
        {"id": "medical", "name": {}, "sub_products": ["Medical", "Medical debt"]},
        {"id": "credit_card", "name": {}, "sub_products": ["Credit card", "Credit card debt"]},
        {"id": "other", "name": {}, "sub_products": ["Other debt"]},
    ],
}
# complaint id → (narrative, language, sub_product), replacing those of ROWS.
TEXTS = {
    "1": ("They CALLED me at work and I was scared", "en", "Medical"),
    "2": ("Two letters, then calls", "en", "Medical debt"),
    # Traditional script: 電話 and 焦慮 match the Simplified patterns 电话 and 焦虑.
    "3": ("他們每天打電話，我很焦慮", "zh", "Credit card debt"),
    "4": (NA, "en", "Timeshare debt"),  # a wording the taxonomy does not list: other
    "5": (NA, "en", NA),
    "6": ("They told my boss", "en", "  MEDICAL   debt "),  # case and spacing ignored
    "7": ("電話不停", "zh", "Medical debt"),
    "8": (NA, "en", "Medical debt"),
    "9": ("   ", "en", "Other debt"),  # blanks are no narrative
    "13": (NA, "en", ""),  # an empty sub-product is none
}


def text_table() -> pd.DataFrame:
    table = classified()
    for cid, (narrative, language, sub) in TEXTS.items():
        at = table["complaint_id"] == cid
        table.loc[at, ["narrative", "language", "sub_product"]] = [narrative, language, sub]
    return table


@pytest.fixture(scope="module")
def text_tables() -> dict[str, pd.DataFrame]:
    return build_tables(text_table(), tags(), TEXT_TAXONOMY, SITE, AS_OF)


def test_lender_debt_types_group_wordings_across_eras(text_tables):
    dt = text_tables["lender_debt_types"]
    got = [
        (r.lender, r.debt_type, r.label, r.complaints, r.lender_complaints) for r in dt.itertuples()
    ]
    assert got == [
        # Two wordings, one each: the label is the alphabetically first.
        ("Acme", "medical", "Medical", 2, 5),
        ("Acme", "credit_card", "Credit card debt", 1, 5),
        ("Acme", "other", "Timeshare debt", 1, 5),
        ("Beta", "medical", "Medical debt", 3, 4),
        ("Beta", "other", "Other debt", 1, 4),
        # Cobalt and Dot name no sub-product: no rows. Then all lenders together.
        (MARKET, "medical", "Medical debt", 5, 13),
        (MARKET, "credit_card", "Credit card debt", 1, 13),
        (MARKET, "other", "Other debt", 2, 13),  # tie 1–1: "Other debt" < "Timeshare debt"
    ]
    assert dt["share"].tolist() == pytest.approx(
        [0.4, 0.2, 0.2, 0.75, 0.25, 5 / 13, 1 / 13, 2 / 13]
    )
    assert dt["lender_slug"].isna().tolist() == [False] * 5 + [True] * 3
    assert_shares_clean({"lender_debt_types": dt})


def test_lender_debt_types_without_a_taxonomy_count_every_wording_as_other():
    dt = build_tables(text_table(), tags(), TAXONOMY, SITE, AS_OF)["lender_debt_types"]
    assert set(dt["debt_type"].astype(str)) == {"other"}
    assert one(dt, lender=MARKET)["complaints"] == 8  # every complaint with a sub-product
    assert one(dt, lender="Beta")["label"] == "Medical debt"


def test_lender_channels_count_narratives_in_both_scripts(text_tables):
    ch = text_tables["lender_channels"]
    got = [(r.lender, r.channel, r.narratives, r.mentions) for r in ch.itertuples()]
    assert got == [
        ("Acme", "calls", 3, 3),  # "CALLED", "calls" and 打電話 (Traditional)
        ("Acme", "letters", 3, 1),
        ("Beta", "calls", 2, 1),  # 電話不停; "   " is not a narrative
        ("Beta", "letters", 2, 0),
        ("Cobalt", "calls", 0, 0),
        ("Cobalt", "letters", 0, 0),
        ("Dot", "calls", 0, 0),
        ("Dot", "letters", 0, 0),
        (MARKET, "calls", 5, 4),
        (MARKET, "letters", 5, 1),
    ]
    acme = one(ch, lender="Acme", channel="letters")
    assert acme["share"] == pytest.approx(1 / 3)
    lo, hi = wilson(1, 3)
    assert (acme["share_lo"], acme["share_hi"]) == (pytest.approx(lo), pytest.approx(hi))
    assert one(ch, lender="Beta", channel="letters")["share"] == 0
    # No narratives: every share is NA, not NaN and not 0.
    cobalt = one(ch, lender="Cobalt", channel="calls")
    assert all(cobalt[c] is pd.NA for c in ("share", "share_lo", "share_hi"))
    # The narratives are those lenders.csv counts.
    lenders = text_tables["lenders"].set_index("lender")["narratives"]
    calls = rows_of(ch, channel="calls").set_index("lender")["narratives"]
    assert calls.drop(MARKET).to_dict() == lenders.to_dict()
    assert_shares_clean({"lender_channels": ch})


def test_lender_harm_counts_harm_words_in_both_scripts(text_tables):
    harm = text_tables["lender_harm"]
    got = [(r.lender, r.harm, r.narratives, r.mentions) for r in harm.itertuples()]
    assert got == [
        ("Acme", "distress", 3, 2),  # "scared" and 焦慮 (Traditional for 焦虑)
        ("Beta", "distress", 2, 0),
        ("Cobalt", "distress", 0, 0),
        ("Dot", "distress", 0, 0),
        (MARKET, "distress", 5, 2),
    ]
    assert one(harm, lender="Acme")["share"] == pytest.approx(2 / 3)
    assert pd.isna(one(harm, lender="Dot")["share"])
    assert harm["share"].dtype == "Float64"
    assert_shares_clean({"lender_harm": harm})


def test_a_pattern_only_matches_narratives_in_its_own_language():
    table = complaints(
        [
            ("1", "A", "2024-01-02", [], NA, "电话 and a call", NA, NA, "zh"),
            ("2", "A", "2024-01-03", [], NA, "电话 and a text", NA, NA, "en"),
        ]
    )
    taxonomy = {**TEXT_TAXONOMY, "channels": TEXT_TAXONOMY["channels"][:1]}
    ch = build_tables(table, None, taxonomy, SITE, AS_OF)["lender_channels"]
    assert one(ch, lender="A", channel="calls")["mentions"] == 0


def test_without_channels_or_harm_in_the_taxonomy_the_tables_are_empty(tables):
    for name, column in (("lender_channels", "channel"), ("lender_harm", "harm")):
        assert tables[name].empty, name
        assert column in tables[name].columns


def test_an_empty_table_gives_market_rows_without_narratives():
    out = build_tables(text_table().iloc[:0], None, TEXT_TAXONOMY, SITE, AS_OF)
    assert out["lender_debt_types"].empty
    calls = one(out["lender_channels"], lender=MARKET, channel="calls")
    assert calls["narratives"] == 0 and pd.isna(calls["share"])
    assert_shares_clean(out)


def test_bad_text_patterns_and_doubly_listed_wordings_are_user_errors():
    bad = {**TEXT_TAXONOMY, "harm": [{"id": "x_en", "lang": "en", "pattern": "(", "name": {}}]}
    with pytest.raises(UserError, match=r"harm\[0\] \(x_en\) pattern is not valid RE2"):
        build_tables(text_table(), None, bad, SITE, AS_OF)
    twice = {
        **TEXT_TAXONOMY,
        "debt_types": [
            {"id": "medical", "name": {}, "sub_products": ["Medical"]},
            {"id": "health", "name": {}, "sub_products": ["medical "]},
        ],
    }
    with pytest.raises(UserError, match=r"debt_types\[1\] \(health\).*'medical'"):
        build_tables(text_table(), None, twice, SITE, AS_OF)


def test_text_tables_do_not_depend_on_input_order(text_tables):
    shuffled = text_table().sample(frac=1, random_state=3)
    out = build_tables(shuffled, tags(), TEXT_TAXONOMY, SITE, AS_OF)
    for name in ("lender_debt_types", "lender_channels", "lender_harm"):
        pd.testing.assert_frame_equal(out[name], text_tables[name], obj=name)


# ── time-indexed counts ────────────────────────────────────────────────────────────────


def test_counts_monthly_has_only_months_with_complaints(tables):
    acme = rows_of(tables["counts_monthly"], lender="Acme", behaviour="calls")
    assert acme["month"].tolist() == months("2023-11", "2024-01", "2024-02")
    assert acme["complaints"].tolist() == [1, 1, 1]
    assert acme["all_complaints"].tolist() == [1, 2, 1]
    assert acme["share"].tolist() == [1.0, 0.5, 1.0]
    assert (tables["counts_monthly"]["complaints"] > 0).all()


def test_lender_monthly_zero_fills_every_month_of_the_span(tables):
    acme = rows_of(tables["lender_monthly"], lender="Acme")
    assert acme["month"].tolist() == months(
        "2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04"
    )
    assert acme["complaints"].tolist() == [1, 0, 2, 1, 0, 1]
    # Every complaint of a peer-group lender is in its months, once.
    totals = tables["lender_monthly"].groupby("lender", observed=True)["complaints"].sum()
    lenders = tables["lenders"].set_index("lender")["complaints"]
    assert (totals == lenders.reindex(totals.index)).all()


def test_counts_monthly_skips_small_lenders_and_unseen_pairs(tables):
    monthly = tables["counts_monthly"]
    cobalt = rows_of(monthly, lender="Cobalt", behaviour="night")
    assert cobalt["month"].tolist() == months("2024-04")
    assert rows_of(tables["lender_monthly"], lender="Cobalt")["month"].tolist() == months(
        "2024-01", "2024-02", "2024-03", "2024-04"
    )
    # Dot (one complaint) has no monthly series of its own; it is in the market tables.
    assert rows_of(monthly, lender="Dot").empty
    assert rows_of(tables["lender_monthly"], lender="Dot").empty
    # Pairs never seen (Cobalt × threat) get no rows.
    assert rows_of(monthly, lender="Cobalt", behaviour="threat").empty
    # Every (complaint, behaviour) pair of the peer lenders is counted exactly once.
    assert monthly["complaints"].sum() == 11


def test_market_monthly_covers_every_behaviour_and_month(tables):
    market = tables["market_monthly"]
    assert len(market) == 5 * 6  # 5 behaviours × 2023-11 … 2024-04
    calls = rows_of(market, behaviour="calls")
    assert calls["complaints"].tolist() == [1, 0, 3, 1, 0, 0]
    assert rows_of(market, behaviour="unused")["complaints"].tolist() == [0] * 6
    march = rows_of(market, month=pd.Timestamp("2024-03-01"))
    assert (march["complaints"] == 0).all() and (march["all_complaints"] == 0).all()
    assert market["complaints"].sum() == 12  # the duplicate "calls" of complaint 7 counts once


def test_family_monthly_counts_a_complaint_once_per_family(tables):
    fam = tables["family_monthly"]
    harassment = rows_of(fam, family="harassment")
    # January: complaint 2 (calls + night, once), 7 and 10 → 3 of 4 complaints.
    jan = one(harassment, month=pd.Timestamp("2024-01-01"))
    assert (jan["complaints"], jan["all_complaints"], jan["share"]) == (3, 4, 0.75)
    assert harassment["complaints"].tolist() == [1, 0, 3, 1, 0, 1]
    assert one(fam, family="threats", month=pd.Timestamp("2024-02-01"))["complaints"] == 2


def test_quarterly_and_yearly_roll_ups(tables):
    q = rows_of(tables["counts_quarterly"], lender="Acme", behaviour="calls")
    # 2024Q2 (no calls, one other complaint) is left out, like months without any.
    assert q["quarter"].astype(str).tolist() == ["2023Q4", "2024Q1"]
    assert q["quarter_start"].tolist() == months("2023-10", "2024-01")
    assert q["complaints"].tolist() == [1, 2]
    assert q["all_complaints"].tolist() == [1, 3]
    y = rows_of(tables["counts_yearly"], lender="Beta", behaviour="third_party")
    assert y["year"].tolist() == [2023, 2024]
    assert y["complaints"].tolist() == [1, 1]
    assert y["share"].round(6).tolist() == [1.0, round(1 / 3, 6)]


def whole_years(first: str, last: str) -> pd.DataFrame:
    """A date_coverage table with every month from ``first`` to ``last`` covered."""
    month = pd.date_range(first, last, freq="MS").astype("datetime64[s]")
    days = month.days_in_month.to_numpy()
    return pd.DataFrame(
        {
            "month": month,
            "rows": days,
            "days_with_data": days,
            "days_in_month": days,
            "status": pd.array(["covered"] * len(month), dtype="string"),
        }
    )


def test_yoy_change_ratio_and_division_by_zero():
    covered = whole_years("2023-01", "2024-12")
    as_of = pd.Timestamp("2025-06-30")
    yoy = build_tables(classified(), tags(), TAXONOMY, SITE, as_of, coverage=covered)["yoy"]
    calls = one(yoy, lender="Acme", behaviour="calls", year=2024)
    assert (calls["complaints_prev"], calls["complaints"], calls["change"]) == (1, 2, 1)
    assert calls["ratio"] == 2.0
    night = one(yoy, lender="Acme", behaviour="night", year=2024)
    assert night["complaints_prev"] == 0 and night["change"] == 1 and pd.isna(night["ratio"])
    market = one(yoy, lender=MARKET, behaviour="calls", year=2024)
    assert (market["complaints_prev"], market["complaints"], market["ratio"]) == (1, 4, 4.0)
    # A series' first year has nothing to compare with; Cobalt starts in 2024.
    assert rows_of(yoy, lender="Cobalt").empty
    assert rows_of(yoy, year=2023).empty
    assert yoy["comparable"].all() and not yoy["provisional"].any()
    ratios = yoy["ratio"].to_numpy(dtype="float64", na_value=0.0)
    assert np.isfinite(ratios).all()


def test_yoy_compares_only_complete_settled_years(tables):
    # The fixture's data runs 2023-10 to 2024-06 and 2024 holds AS_OF: neither year is
    # complete, so the counts are given but no change is claimed.
    yoy = tables["yoy"]
    calls = one(yoy, lender="Acme", behaviour="calls", year=2024)
    assert (calls["complaints_prev"], calls["complaints"]) == (1, 2)
    assert pd.isna(calls["change"]) and pd.isna(calls["ratio"]) and not calls["comparable"]
    assert yoy["provisional"].all() and not yoy["comparable"].any()
    # Whole years, settled, but with a month of 2023 not covered: still no comparison.
    holed = whole_years("2023-01", "2024-12")
    holed.loc[holed["month"] == pd.Timestamp("2023-05-01"), "status"] = "none"
    later = pd.Timestamp("2025-06-30")
    yoy = build_tables(classified(), tags(), TAXONOMY, SITE, later, coverage=holed)["yoy"]
    assert not yoy["comparable"].any() and yoy["change"].isna().all()


def test_state_behaviour_counts_and_shares(tables):
    sb = tables["state_behaviour"]
    assert sorted(sb["state"].unique()) == ["CA", "NY", "TX"]
    assert len(sb) == 3 * 5  # every behaviour for every state, zeros included
    ca = one(sb, state="CA", behaviour="calls")
    assert (ca["complaints"], ca["state_complaints"], ca["share"]) == (3, 5, 0.6)
    tx = one(sb, state="TX", behaviour="third_party")
    assert (tx["complaints"], tx["state_complaints"]) == (1, 3)  # complaint 8 has no state
    assert one(sb, state="NY", behaviour="unused")["complaints"] == 0


# ── mixes against peers ────────────────────────────────────────────────────────────────


def test_behaviour_mix_shares_others_and_peer_median(tables):
    mix = tables["behaviour_mix"]
    assert len(mix) == 4 * 5  # every lender × every behaviour
    acme = one(mix, lender="Acme", behaviour="calls")
    assert (acme["complaints"], acme["lender_complaints"], acme["share"]) == (3, 5, 0.6)
    assert (round(acme["share_lo"], 4), round(acme["share_hi"], 4)) == (0.2307, 0.8824)
    # Others: 2 of the other 8 complaints mention calls.
    assert acme["others_share"] == pytest.approx(0.25)
    # Peers (≥ 3 complaints): Acme 3/5, Beta 1/4, Cobalt 1/3 → median 1/3; Dot is not a peer.
    assert acme["peer_median"] == pytest.approx(1 / 3)
    assert acme["ratio_to_peers"] == pytest.approx(1.8)
    assert not acme["above_peers"]  # 0.2307 is not above 1/3
    dot = one(mix, lender="Dot", behaviour="threat")
    assert dot["share"] == 1.0 and not dot["in_peer_group"] and not dot["above_peers"]
    # Sum of numerators = number of (complaint, behaviour) pairs.
    assert mix["complaints"].sum() == 12


def test_behaviour_with_zero_support_has_zero_shares_and_na_ratio(tables):
    unused = rows_of(tables["behaviour_mix"], behaviour="unused")
    assert (unused["complaints"] == 0).all() and (unused["share"] == 0).all()
    assert (unused["peer_median"] == 0).all()
    assert unused["ratio_to_peers"].isna().all()
    assert unused["others_share"].eq(0).all() and not unused["above_peers"].any()
    assert one(tables["behaviours"], behaviour="unused")["complaints"] == 0


def test_family_mix_counts_complaints_once_per_family(tables):
    fam = tables["family_mix"]
    cobalt = one(fam, lender="Cobalt", family="harassment")
    assert (cobalt["complaints"], cobalt["lender_complaints"]) == (2, 3)
    acme = one(fam, lender="Acme", family="harassment")
    assert acme["complaints"] == 3  # complaint 2 has calls and night: counted once
    # Peer shares 3/5, 1/4, 2/3 → median 0.6.
    assert acme["peer_median"] == pytest.approx(0.6)
    assert fam["complaints"].sum() == 11


def test_above_peers_needs_the_lower_bound_above_the_peer_median_and_the_others():
    # X: 30 of 40 complaints with calls; Y, Z, W: 4, 5, 6 of 40 → peer median 0.1375.
    rows, i = [], 0
    for lender, k in (("X", 30), ("Y", 4), ("Z", 5), ("W", 6)):
        for j in range(40):
            rows.append(
                (
                    str(i),
                    lender,
                    "2024-01-10",
                    ["calls"] if j < k else ["night"],
                    "CA",
                    NA,
                    NA,
                    NA,
                    "en",
                )
            )
            i += 1
    mix = build_tables(complaints(rows), tags().iloc[:0], TAXONOMY, SITE, AS_OF)["behaviour_mix"]
    calls = rows_of(mix, behaviour="calls").set_index("lender")
    assert calls.loc["X", "peer_median"] == pytest.approx(0.1375)
    assert calls["above_peers"].to_dict() == {"W": False, "X": True, "Y": False, "Z": False}
    # night: the peer median (0.875) is high, so X (0.25) is not above it.
    assert not rows_of(mix, behaviour="night", lender="X")["above_peers"].iloc[0]


def test_a_median_of_zero_alone_does_not_raise_the_flag():
    # Rare behaviour: most peers have none (median 0). A has 1 of 20; the others pooled have
    # 5 of 80. A's lower bound (0.009) is above 0 but not above 5/80, so no flag. E, with 5
    # of 20 (lower bound 0.11), is above both.
    rows, i = [], 0
    for lender, k in (("A", 1), ("B", 0), ("C", 0), ("D", 0), ("E", 5)):
        for j in range(20):
            rows.append(
                (str(i), lender, "2024-01-10", ["threat"] if j < k else [], "CA", NA, NA, NA, "en")
            )
            i += 1
    mix = build_tables(complaints(rows), tags().iloc[:0], TAXONOMY, SITE, AS_OF)["behaviour_mix"]
    threat = rows_of(mix, behaviour="threat").set_index("lender")
    assert threat.loc["A", "peer_median"] == 0
    assert threat.loc["A", "share_lo"] > 0
    assert threat.loc["A", "others_share"] == pytest.approx(5 / 80)
    assert threat["above_peers"].to_dict() == {
        "A": False,
        "B": False,
        "C": False,
        "D": False,
        "E": True,
    }


# ── spikes ─────────────────────────────────────────────────────────────────────────────


def monthly_series(counts, start="2019-01", lender="Spiky") -> pd.DataFrame:
    """A lender with ``counts[i]`` "calls" complaints in the i-th month from ``start``."""
    rows, i = [], 0
    for offset, n in enumerate(counts):
        day = pd.Timestamp(start + "-01") + pd.DateOffset(months=offset) + pd.Timedelta(days=9)
        for _ in range(n):
            rows.append(
                (str(i), lender, day.strftime("%Y-%m-%d"), ["calls"], "CA", NA, NA, NA, "en")
            )
            i += 1
    return complaints(rows)


FLAT_THEN_20 = [3, 2, 4, 3, 3, 2, 4, 3, 3, 2, 4, 3, 20]


def spikes_for(table, **settings) -> pd.DataFrame:
    site = {**SITE, "spikes": {**SITE["spikes"], **settings}}
    return build_tables(table, tags().iloc[:0], TAXONOMY, site, pd.Timestamp("2024-12-31"))[
        "spikes"
    ]


def test_a_jump_after_a_flat_year_is_a_spike():
    spikes = spikes_for(monthly_series(FLAT_THEN_20))
    spike = one(spikes, lender="Spiky")
    assert spike["month"] == pd.Timestamp("2020-01-01")
    assert spike["complaints"] == 20 and spike["baseline"] == 3
    # The flat year is steadier than Poisson (variance < mean): dispersion 1. Given the
    # 56 complaints of the 13 months, P(Binomial(56, 1/13) ≥ 20).
    assert spike["dispersion"] == 1.0 and spike["ratio"] == pytest.approx(20 / 3)
    assert spike["p_value"] == pytest.approx(2.6978572902e-09, rel=1e-9)
    assert not spike["near_taxonomy_change"] and not spike["provisional"]
    assert len(rows_of(spikes, lender=MARKET)) == 1  # the market is the same series here


def test_a_jump_below_min_count_is_not_a_spike():
    assert spikes_for(monthly_series(FLAT_THEN_20), min_count=21).empty


def test_a_few_complaints_after_a_quiet_year_are_not_a_spike():
    # 4 after twelve empty months scores 4 ≥ 3.5, but 4 < min_count (5). The series did
    # reach 6 once, long before, so only the per-month min_count test rules this out.
    assert spikes_for(monthly_series([6] + [0] * 12 + [4])).empty
    lowered = spikes_for(monthly_series([6] + [0] * 12 + [4]), min_count=4)
    assert one(lowered, lender="Spiky")["month"] == pd.Timestamp("2020-02-01")


def test_a_steady_rise_is_not_a_spike():
    assert spikes_for(monthly_series(list(range(1, 25)))).empty


def test_months_without_a_full_baseline_are_not_scored():
    # The jump in month 5 has only 4 months of history; later months have a full baseline,
    # whose median the one jump does not move.
    assert spikes_for(monthly_series([2, 2, 2, 2, 20] + [2] * 10)).empty


def test_a_spike_next_to_a_label_revision_is_marked():
    spikes = spikes_for(monthly_series(FLAT_THEN_20, start="2016-05"))
    assert one(spikes, lender="Spiky")["month"] == pd.Timestamp("2017-05-01")
    assert one(spikes, lender="Spiky")["near_taxonomy_change"]


# ── provisional periods ────────────────────────────────────────────────────────────────


def test_provisional_marks_the_month_of_as_of():
    last_days = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    got = provisional(last_days, pd.Timestamp("2024-03-15"), 5)
    assert got.tolist() == [False, False, True]


def test_provisional_window_crossing_a_month_boundary_flags_both_months():
    last_days = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    got = provisional(last_days, pd.Timestamp("2024-03-10"), 30)
    assert got.tolist() == [False, True, True]
    # Exactly 30 days up to 2024-03-30 are 03-01 … 03-30: February is complete.
    got = provisional(last_days, pd.Timestamp("2024-03-30"), 30)
    assert got.tolist() == [False, False, True]
    # Two days up to 03-01 are 02-29 and 03-01: February's last day is still open.
    assert provisional(last_days, pd.Timestamp("2024-03-01"), 2).tolist() == [False, True, True]
    assert provisional(last_days, pd.Timestamp("2024-03-01"), 1).tolist() == [False, False, True]


def test_every_time_indexed_table_carries_provisional_flags():
    table = classified()
    out = build_tables(
        table, tags(), TAXONOMY, {**SITE, "provisional_days": 30}, pd.Timestamp("2024-01-10")
    )
    market = rows_of(out["market_monthly"], behaviour="calls")
    flagged = market.loc[market["provisional"], "month"].tolist()
    # Window 2023-12-12 … 2024-01-10 and everything after it.
    assert flagged == months("2023-12", "2024-01", "2024-02", "2024-03", "2024-04")
    yearly = rows_of(out["counts_yearly"], lender="Acme", behaviour="calls")
    assert yearly["provisional"].tolist() == [True, True]  # 2023 overlaps the window
    quarterly = rows_of(out["counts_quarterly"], lender="Acme", behaviour="calls")
    assert quarterly["provisional"].tolist() == [True, True]
    lender_m = rows_of(out["lender_monthly"], lender="Acme")
    assert lender_m.loc[lender_m["provisional"], "month"].tolist() == flagged
    for name in (
        "counts_monthly",
        "counts_quarterly",
        "lender_monthly",
        "counts_yearly",
        "market_monthly",
        "family_monthly",
        "yoy",
        "spikes",
        "coverage",
    ):
        assert out[name]["provisional"].dtype == bool, name
    as_of_mid = build_tables(
        table, tags(), TAXONOMY, {**SITE, "provisional_days": 5}, pd.Timestamp("2024-02-15")
    )
    fam = rows_of(as_of_mid["family_monthly"], family="threats")
    assert fam.loc[fam["provisional"], "month"].min() == pd.Timestamp("2024-02-01")


def test_taxonomy_changes_lists_revisions_after_the_first_era(tables):
    changes = tables["taxonomy_changes"]
    assert changes["date"].tolist() == [pd.Timestamp("2017-04-24"), pd.Timestamp("2023-08-24")]
    assert changes["era"].tolist() == ["e2017", "e2023"]
    assert changes["name_zh"].tolist() == ["2017 标签", "2023 标签"]


# ── edge cases and sanity checks ───────────────────────────────────────────────────────


def assert_shares_clean(out: dict[str, pd.DataFrame]) -> None:
    for name, df in out.items():
        for col in df.columns:
            if not pd.api.types.is_float_dtype(df[col]):
                continue
            values = df[col].to_numpy(dtype="float64", na_value=np.nan)
            assert not np.isinf(values).any(), f"{name}.{col} has inf"
            assert np.isnan(values).sum() == df[col].isna().sum(), f"{name}.{col} has NaN"
            if col.endswith(aggregate.SHARE_SUFFIXES):
                ok = values[~np.isnan(values)]
                assert ((ok >= 0) & (ok <= 1)).all(), f"{name}.{col} outside [0, 1]"


def test_the_fixture_tables_have_clean_shares(tables):
    assert_shares_clean(tables)


def test_an_empty_table_gives_empty_tables_without_errors():
    empty = classified().iloc[:0]
    out = build_tables(empty, tags().iloc[:0], TAXONOMY, SITE, AS_OF)
    assert set(out) >= {"counts_monthly", "behaviour_mix", "spikes", "yoy", "responses"}
    for name in (
        "lenders",
        "counts_monthly",
        "lender_monthly",
        "market_monthly",
        "behaviour_mix",
        "yoy",
        "spikes",
        "state_behaviour",
    ):
        assert out[name].empty, name
    assert one(out["responses"], lender=MARKET)["complaints"] == 0
    assert pd.isna(one(out["coverage"], dimension="all")["narrative_share"])
    assert (out["behaviours"]["complaints"] == 0).all()
    assert_shares_clean(out)


def test_a_single_complaint_without_behaviours():
    table = complaints([("1", "Solo", "2024-02-29", [], NA, NA, NA, NA, "en")])
    out = build_tables(table, None, TAXONOMY, {**SITE, "min_lender_complaints": 1}, AS_OF)
    assert one(out["lenders"], lender="Solo")["complaints"] == 1
    assert out["counts_monthly"].empty  # no behaviour pairs at all
    assert (one(out["family_monthly"], family="harassment")["all_complaints"]) == 1
    assert_shares_clean(out)


def test_a_one_complaint_lender_in_the_peer_group():
    table = complaints([("1", "Solo", "2024-02-29", ["calls"], "CA", NA, NA, True, "en")])
    out = build_tables(table, None, TAXONOMY, {**SITE, "min_lender_complaints": 1}, AS_OF)
    mix = one(out["behaviour_mix"], lender="Solo", behaviour="calls")
    assert mix["share"] == 1 and mix["share_hi"] == 1 and pd.isna(mix["others_share"])
    assert not mix["above_peers"]  # its lower bound cannot beat a median that is itself
    assert one(out["counts_monthly"], lender="Solo")["complaints"] == 1
    assert_shares_clean(out)


def test_behaviours_as_arrow_lists_or_numpy_arrays_give_the_same_counts(tables):
    table = classified()
    arrow = table.assign(
        behaviours=pd.array(
            table["behaviours"].tolist(), dtype=pd.ArrowDtype(pa.list_(pa.string()))
        )
    )
    numpy = table.assign(behaviours=[np.array(b, dtype=object) for b in table["behaviours"]])
    for variant in (arrow, numpy):
        out = build_tables(variant, tags(), TAXONOMY, SITE, AS_OF)
        pd.testing.assert_frame_equal(out["behaviour_mix"], tables["behaviour_mix"])


def test_a_behaviour_missing_from_the_taxonomy_is_an_error():
    table = complaints([("1", "A", "2024-01-01", ["calls", "made_up"], NA, NA, NA, NA, "en")])
    with pytest.raises(ValueError, match="made_up"):
        build_tables(table, None, TAXONOMY, SITE, AS_OF)


def test_sanity_checks_catch_bad_shares_and_counts_that_do_not_reconcile(tables):
    frame = aggregate.Frame(classified(), tags(), TAXONOMY)
    bad_share = {**tables, "behaviour_mix": tables["behaviour_mix"].copy()}
    bad_share["behaviour_mix"].loc[0, "share"] = 1.5
    with pytest.raises(ValueError, match=r"behaviour_mix\.share .*outside"):
        aggregate.check_tables(bad_share, frame, SITE["min_lender_complaints"])
    bad_count = {**tables, "market_monthly": tables["market_monthly"].copy()}
    bad_count["market_monthly"].loc[0, "complaints"] += 1
    with pytest.raises(ValueError, match="market_monthly counts 13"):
        aggregate.check_tables(bad_count, frame, SITE["min_lender_complaints"])
    aggregate.check_tables(tables, frame, SITE["min_lender_complaints"])  # the real ones pass


def test_output_does_not_depend_on_input_order(tables):
    shuffled = classified().sample(frac=1, random_state=7)
    out = build_tables(shuffled, tags(), TAXONOMY, SITE, AS_OF)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(out[name], df, obj=name)
