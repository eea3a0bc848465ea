#!/usr/bin/env python3
"""Seeded generator for collectwatch's SYNTHETIC demo data.

Writes two files beside this script:

* ``cfpb_demo.csv``: about 4,000 Debt collection complaints plus about 400 rows of other
  products, in the exact CFPB bulk-export format (18 official headers, ISO dates, UTF-8, LF,
  minimal CSV quoting, multi-line quoted narratives).
* ``heimao_demo.csv``: about 300 Chinese complaints in the 黑猫投诉 structured-scrape format
  (``date,title,summary,object,demands,href``).

Every company, person, complaint and narrative is invented. The Product, Sub-product, Issue and
Sub-issue labels, on the other hand, are real CFPB strings, each used only in the era it
belongs to, so that loaders and label mappers get realistic input. The label tables were taken
from the real samples in ``shared/data/real/cfpb/`` plus, for the 2023 revision (which those
samples do not reach), a July 2026 export's Debt collection tree.

The output is byte-identical on every run: fixed seeds, a fixed end date instead of the
clock, no set iteration, and one random stream per output file.

Usage: ``python data/demo/generate.py``
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CFPB_OUT = HERE / "cfpb_demo.csv"
HEIMAO_OUT = HERE / "heimao_demo.csv"

# One seed per output, so that editing one generator never reshuffles the other file.
SEED_CFPB = 20261120
SEED_HEIMAO = 20261121

# A fixed "today": the data must not depend on when the script runs.
END = dt.date(2026, 11, 20)
# The 2012 start only holds other products: the CFPB took its first debt-collection
# complaints in July 2013, and the real samples hold no Debt collection row before then.
FILE_START = dt.date(2012, 1, 1)
DC_START = dt.date(2013, 7, 10)
ERA_2017 = dt.date(2017, 4, 24)  # new Issue/Sub-issue wording and product names
ERA_2023 = dt.date(2023, 8, 24)  # revision that added "Electronic communications"
NARRATIVE_START = dt.date(2015, 3, 19)  # narratives were only published from this date
PUBLIC_RESPONSE_START = dt.date(2015, 5, 20)  # earliest company public response in the samples
NARRATIVE_RATE = 0.25  # of closed complaints since NARRATIVE_START (~25% of all of them)
HEIMAO_START = dt.date(2019, 1, 1)

CFPB_HEADER = [
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "Consumer complaint narrative",
    "Company public response",
    "Company",
    "State",
    "ZIP code",
    "Tags",
    "Consumer consent provided?",
    "Submitted via",
    "Date sent to company",
    "Company response to consumer",
    "Timely response?",
    "Consumer disputed?",
    "Complaint ID",
]
HEIMAO_HEADER = ["date", "title", "summary", "object", "demands", "href"]

# ---------------------------------------------------------------------------------------------
# CFPB label tables (exact strings, per era)
# ---------------------------------------------------------------------------------------------

# Each sub-issue gets a "topic" that picks the narrative sentences which describe it. Topics
# roll up into behaviour families; company profiles below scale whole families, which is how
# the demo plants its signal.
TOPIC_FAMILY = {
    "repeated_calls": "repeated",
    "repeated_messages": "repeated",
    "night_calls": "night",
    "night_messages": "night",
    "cease": "cease",
    "cease_messages": "cease",
    "abuse": "abuse",
    "threat_arrest": "threat",
    "threat_sue": "threat",
    "threat_credit": "threat",
    "crime": "threat",
    "impersonation": "threat",
    "immigration": "threat",
    "third_party": "third_party",
    "employer": "third_party",
    "attorney": "contact_other",
    "not_mine": "not_owed",
    "paid": "not_owed",
    "identity_theft": "not_owed",
    "bankruptcy": "not_owed",
    "wrong_amount": "deception",
    "lawsuit_advice": "deception",
    "verify": "notice",
    "dispute_notice": "notice",
    "not_disclosed": "notice",
    "sued_no_notice": "legal",
    "wrong_venue": "legal",
    "seize": "legal",
    "exempt": "legal",
}

# era -> issue -> [(sub-issue, topic, weight)]. Weights follow the rough shares of each era in
# the real data, except that contact behaviours are kept a little larger after 2023 so that
# the demo charts have something to show.
DC_TAXONOMY: dict[str, dict[str, list[tuple[str, str, float]]]] = {
    "pre2017": {
        "Cont'd attempts collect debt not owed": [
            ("Debt is not mine", "not_mine", 30),
            ("Debt was paid", "paid", 13),
            ("Debt resulted from identity theft", "identity_theft", 4),
            ("Debt was discharged in bankruptcy", "bankruptcy", 2),
        ],
        "Communication tactics": [
            ("Frequent or repeated calls", "repeated_calls", 11),
            ("Threatened to take legal action", "threat_sue", 4),
            ("Used obscene/profane/abusive language", "abuse", 1.6),
            ("Called after sent written cease of comm", "cease", 1.2),
            ("Called outside of 8am-9pm", "night_calls", 1.0),
        ],
        "Disclosure verification of debt": [
            ("Not given enough info to verify debt", "verify", 12),
            ("Right to dispute notice not received", "dispute_notice", 6),
            ("Not disclosed as an attempt to collect", "not_disclosed", 1.3),
        ],
        "False statements or representation": [
            ("Attempted to collect wrong amount", "wrong_amount", 7),
            ("Impersonated an attorney or official", "impersonation", 1.1),
            ("Indicated committed crime not paying", "crime", 0.9),
            ("Indicated shouldn't respond to lawsuit", "lawsuit_advice", 0.4),
        ],
        "Improper contact or sharing of info": [
            ("Talked to a third party about my debt", "third_party", 3.5),
            ("Contacted me after I asked not to", "cease", 2.5),
            ("Contacted employer after asked not to", "employer", 2.0),
            ("Contacted me instead of my attorney", "attorney", 0.3),
        ],
        "Taking/threatening an illegal action": [
            ("Threatened to sue on too old debt", "threat_sue", 2.4),
            ("Threatened arrest/jail if do not pay", "threat_arrest", 1.8),
            ("Sued w/o proper notification of suit", "sued_no_notice", 0.7),
            ("Attempted to/Collected exempt funds", "exempt", 0.6),
            ("Seized/Attempted to seize property", "seize", 0.5),
            ("Sued where didn't live/sign for debt", "wrong_venue", 0.4),
        ],
    },
    "2017": {
        "Attempts to collect debt not owed": [
            ("Debt is not yours", "not_mine", 30),
            ("Debt was result of identity theft", "identity_theft", 12),
            ("Debt was paid", "paid", 10),
            ("Debt was already discharged in bankruptcy and is no longer owed", "bankruptcy", 2),
        ],
        "Written notification about debt": [
            ("Didn't receive enough information to verify debt", "verify", 16),
            ("Didn't receive notice of right to dispute", "dispute_notice", 5),
            (
                "Notification didn't disclose it was an attempt to collect a debt",
                "not_disclosed",
                1.2,
            ),
        ],
        "Communication tactics": [
            ("Frequent or repeated calls", "repeated_calls", 9),
            ("You told them to stop contacting you, but they keep trying", "cease", 4),
            ("Used obscene, profane, or other abusive language", "abuse", 1.2),
            ("Called before 8am or after 9pm", "night_calls", 1.0),
        ],
        "False statements or representation": [
            ("Attempted to collect wrong amount", "wrong_amount", 8),
            (
                "Impersonated attorney, law enforcement, or government official",
                "impersonation",
                0.7,
            ),
            ("Indicated you were committing crime by not paying debt", "crime", 0.6),
            ("Told you not to respond to a lawsuit they filed against you", "lawsuit_advice", 0.3),
        ],
        "Took or threatened to take negative or legal action": [
            ("Threatened or suggested your credit would be damaged", "threat_credit", 5),
            ("Threatened to sue you for very old debt", "threat_sue", 2),
            ("Sued you without properly notifying you of lawsuit", "sued_no_notice", 1.2),
            (
                "Threatened to arrest you or take you to jail if you do not pay",
                "threat_arrest",
                1.0,
            ),
            ("Seized or attempted to seize your property", "seize", 0.6),
            ("Collected or attempted to collect exempt funds", "exempt", 0.6),
            (
                "Sued you in a state where you do not live or did not sign for the debt",
                "wrong_venue",
                0.3,
            ),
        ],
        "Threatened to contact someone or share information improperly": [
            ("Talked to a third-party about your debt", "third_party", 1.5),
            ("Contacted your employer", "employer", 1.0),
            ("Contacted you after you asked them to stop", "cease", 0.6),
        ],
    },
    "2023": {
        "Attempts to collect debt not owed": [
            ("Debt is not yours", "not_mine", 28),
            ("Debt was result of identity theft", "identity_theft", 9),
            ("Debt was paid", "paid", 3),
            ("Debt was already discharged in bankruptcy and is no longer owed", "bankruptcy", 1),
        ],
        "Took or threatened to take negative or legal action": [
            ("Threatened or suggested your credit would be damaged", "threat_credit", 10),
            ("Threatened to sue you for very old debt", "threat_sue", 0.8),
            ("Sued you without properly notifying you of lawsuit", "sued_no_notice", 0.6),
            (
                "Threatened to arrest you or take you to jail if you do not pay",
                "threat_arrest",
                0.5,
            ),
            ("Collected or attempted to collect exempt funds", "exempt", 0.4),
            ("Seized or attempted to seize your property", "seize", 0.3),
            (
                "Sued you in a state where you do not live or did not sign for the debt",
                "wrong_venue",
                0.15,
            ),
            ("Threatened to turn you in to immigration or deport you", "immigration", 0.1),
        ],
        "Written notification about debt": [
            ("Didn't receive enough information to verify debt", "verify", 12),
            ("Didn't receive notice of right to dispute", "dispute_notice", 2.7),
            (
                "Notification didn't disclose it was an attempt to collect a debt",
                "not_disclosed",
                2.5,
            ),
        ],
        "False statements or representation": [
            ("Attempted to collect wrong amount", "wrong_amount", 8.5),
            ("Indicated you were committing crime by not paying debt", "crime", 0.3),
            (
                "Impersonated attorney, law enforcement, or government official",
                "impersonation",
                0.3,
            ),
            ("Told you not to respond to a lawsuit they filed against you", "lawsuit_advice", 0.15),
        ],
        "Communication tactics": [
            ("Frequent or repeated calls", "repeated_calls", 4),
            ("You told them to stop contacting you, but they keep trying", "cease", 2),
            ("Used obscene, profane, or other abusive language", "abuse", 0.6),
            ("Called before 8am or after 9pm", "night_calls", 0.5),
        ],
        "Electronic communications": [
            ("Frequent or repeated messages", "repeated_messages", 2),
            ("You told them to stop contacting you, but they keep trying", "cease_messages", 1),
            ("Contacted before 8am or after 9pm", "night_messages", 0.4),
            ("Used obscene, profane, or other abusive language", "abuse", 0.1),
        ],
        "Threatened to contact someone or share information improperly": [
            ("Talked to a third-party about your debt", "third_party", 1.0),
            ("Contacted you after you asked them to stop", "cease", 0.4),
            ("Contacted your employer", "employer", 0.3),
            ("Contacted you instead of your attorney", "attorney", 0.05),
        ],
    },
}

# Topic used for the narrative when an old row has an Issue but no Sub-issue.
ISSUE_ONLY_TOPIC = {
    "Cont'd attempts collect debt not owed": "not_mine",
    "Communication tactics": "repeated_calls",
    "Disclosure verification of debt": "verify",
    "False statements or representation": "wrong_amount",
    "Improper contact or sharing of info": "third_party",
    "Taking/threatening an illegal action": "threat_sue",
}
# Real Debt collection samples always carry a Sub-issue; a handful of blanks are planted on
# purpose so that issue-only fallbacks and "unmapped" reporting get exercised.
EMPTY_SUB_ISSUE_RATE = 0.006

# era -> [(Sub-product, debt kinds it can stand for, weight)]. Company profiles scale kinds
# (a medical biller mostly files under medical debt).
DC_SUB_PRODUCTS: dict[str, list[tuple[str, tuple[str, ...], float]]] = {
    "pre2017": [
        ("Other (i.e. phone, health club, etc.)", ("other", "telecom", "rental"), 22),
        ("Credit card", ("credit_card",), 20),
        ("Medical", ("medical",), 15),
        ("I do not know", ("unknown",), 10),
        ("Payday loan", ("payday",), 5),
        ("Auto", ("auto",), 3),
        ("Mortgage", ("mortgage",), 3),
        ("Non-federal student loan", ("student",), 2),
        ("Federal student loan", ("student",), 2),
    ],
    "2017": [
        ("I do not know", ("unknown",), 35),
        ("Other debt", ("other", "telecom", "rental"), 20),
        ("Credit card debt", ("credit_card",), 16),
        ("Medical debt", ("medical",), 11),
        ("Auto debt", ("auto",), 3),
        ("Payday loan debt", ("payday",), 2),
        ("Private student loan debt", ("student",), 1.5),
        ("Federal student loan debt", ("student",), 1.2),
        ("Mortgage debt", ("mortgage",), 1.2),
    ],
    # "Telecommunications debt" and "Rental debt" are seen in 2026 exports; used here only
    # after the 2023 revision.
    "2023": [
        ("I do not know", ("unknown",), 60),
        ("Credit card debt", ("credit_card",), 11),
        ("Other debt", ("other",), 9),
        ("Telecommunications debt", ("telecom",), 4.5),
        ("Rental debt", ("rental",), 3.5),
        ("Medical debt", ("medical",), 2.6),
        ("Auto debt", ("auto",), 1.9),
        ("Payday loan debt", ("payday",), 1.0),
        ("Private student loan debt", ("student",), 0.3),
        ("Federal student loan debt", ("student",), 0.3),
        ("Mortgage debt", ("mortgage",), 0.2),
    ],
}

# How a consumer names each kind of debt in a narrative (noun phrases, article included).
DEBT_PHRASES = {
    "credit_card": ["a credit card debt", "an old store credit card balance"],
    "medical": ["a medical bill", "a hospital bill", "an ambulance bill"],
    "payday": ["a payday loan", "an online installment loan"],
    "auto": ["a car loan", "the balance left on a repossessed car"],
    "mortgage": ["a second mortgage", "a home equity loan"],
    "student": ["a private student loan", "a student loan"],
    "telecom": ["a cell phone bill", "a cable and internet bill"],
    "rental": ["an apartment lease", "a balance from my old apartment"],
    "other": ["a gym membership", "a utility bill", "an old account"],
    "unknown": ["an old account", "a debt I do not recognize", "an account from years ago"],
}

GP_CARD = "General-purpose credit card or charge card"
# Out-of-scope rows: era -> [(Product, Sub-product, kind, [(Issue, Sub-issue, weight)])].
# Older products had no sub-issues at all, which the real data shows as empty strings.
OOS_LABELS: dict[str, list[tuple[str, str, str, list[tuple[str, str, float]]]]] = {
    "pre2017": [
        (
            "Credit card",
            "",
            "credit_card",
            [
                ("Billing disputes", "", 6),
                ("Identity theft / Fraud / Embezzlement", "", 3),
                ("APR or interest rate", "", 2),
                ("Late fee", "", 2),
                ("Closing/Cancelling account", "", 2),
            ],
        ),
        (
            "Mortgage",
            "Conventional fixed mortgage",
            "mortgage",
            [("Loan modification,collection,foreclosure", "", 6)],
        ),
        (
            "Mortgage",
            "Other mortgage",
            "mortgage",
            [("Loan servicing, payments, escrow account", "", 4)],
        ),
        (
            "Mortgage",
            "FHA mortgage",
            "mortgage",
            [("Application, originator, mortgage broker", "", 1.5)],
        ),
        (
            "Bank account or service",
            "Checking account",
            "bank",
            [
                ("Account opening, closing, or management", "", 3),
                ("Deposits and withdrawals", "", 2),
                ("Problems caused by my funds being low", "", 1.5),
            ],
        ),
    ],
    "2017": [
        (
            "Credit card or prepaid card",
            GP_CARD,
            "credit_card",
            [
                (
                    "Problem with a purchase shown on your statement",
                    "Credit card company isn't resolving a dispute about a purchase on your "
                    "statement",
                    5,
                ),
                ("Fees or interest", "Problem with fees", 2),
                ("Getting a credit card", "Card opened as result of identity theft or fraud", 1.5),
                ("Closing your account", "Company closed your account", 1.5),
            ],
        ),
        (
            "Mortgage",
            "Conventional home mortgage",
            "mortgage",
            [
                ("Trouble during payment process", "", 5),
                ("Applying for a mortgage or refinancing an existing mortgage", "", 1.5),
            ],
        ),
        ("Mortgage", "FHA mortgage", "mortgage", [("Struggling to pay mortgage", "", 2)]),
        (
            "Checking or savings account",
            "Checking account",
            "bank",
            [
                ("Managing an account", "Deposits and withdrawals", 3),
                ("Problem caused by your funds being low", "Overdrafts and overdraft fees", 1.5),
                ("Closing an account", "Company closed your account", 1.5),
            ],
        ),
    ],
    # After the 2023 revision the card product is "Credit card" again and mortgage issues
    # gained sub-issues.
    "2023": [
        (
            "Credit card",
            GP_CARD,
            "credit_card",
            [
                ("Fees or interest", "Problem with fees", 3),
                ("Getting a credit card", "Card opened without my consent or knowledge", 2),
                (
                    "Problem with a company's investigation into an existing problem",
                    "Was not notified of investigation status or results",
                    1,
                ),
            ],
        ),
        (
            "Mortgage",
            "FHA mortgage",
            "mortgage",
            [("Trouble during payment process", "Private mortgage insurance (PMI)", 2)],
        ),
        (
            "Mortgage",
            "USDA mortgage",
            "mortgage",
            [
                (
                    "Applying for a mortgage or refinancing an existing mortgage",
                    "Trying to communicate with the company to fix an issue with the application "
                    "process",
                    1,
                )
            ],
        ),
        (
            "Checking or savings account",
            "Checking account",
            "bank",
            [
                ("Managing an account", "Deposits and withdrawals", 3),
                ("Opening an account", "Unable to open an account", 1),
            ],
        ),
    ],
}

# Which of the fictional companies answer for each out-of-scope product kind.
OOS_COMPANIES = {
    "credit_card": [("quartzline", 5), ("bluefinch", 3), ("mistral", 2)],
    "mortgage": [("brightmoor", 5), ("windrow", 3), ("mistral", 2)],
    "bank": [("quartzline", 6), ("mistral", 3), ("foxglove", 1)],
}
OOS_ROWS = 400

# Non-label columns: shares loosely follow the real samples and API aggregations.
PUBLIC_RESPONSES = [
    ("", 50),
    (
        "Company has responded to the consumer and the CFPB and chooses not to provide a "
        "public response",
        38,
    ),
    ("Company believes it acted appropriately as authorized by contract or law", 8),
    ("Company believes the complaint is the result of a misunderstanding", 1),
    ("Company disputes the facts presented in the complaint", 1),
    ("Company can't verify or dispute the facts in the complaint", 0.6),
    (
        "Company believes complaint caused principally by actions of third party outside the "
        "control or direction of the company",
        0.5,
    ),
    ("Company believes complaint is the result of an isolated error", 0.4),
    (
        "Company believes complaint represents an opportunity for improvement to better serve "
        "consumers",
        0.4,
    ),
    ("Company believes the complaint provided an opportunity to answer consumer's questions", 0.3),
]
TAGS = [
    ("", 87),
    ("Servicemember", 6.5),
    ("Older American", 5),
    ("Older American, Servicemember", 1.5),
]
VIA_PRE2017 = [("Web", 66), ("Referral", 12), ("Phone", 10), ("Postal mail", 9), ("Fax", 3)]
VIA_POST2017 = [("Web", 88), ("Phone", 5), ("Referral", 4), ("Postal mail", 2.5), ("Fax", 0.5)]
# Web filers without a published narrative; non-web filers are always "N/A".
CONSENT_NO_NARRATIVE = [
    ("Consent not provided", 46),
    ("", 40),
    ("Other", 13),
    ("Consent withdrawn", 1),
]

# (state, weight, ZIP3 ranges). Weights are population-like, nudged towards the states that
# file the most debt-collection complaints.
STATES: list[tuple[str, float, tuple[tuple[int, int], ...]]] = [
    ("CA", 39, ((900, 961),)),
    ("TX", 30, ((750, 799),)),
    ("FL", 30, ((320, 349),)),
    ("NY", 19, ((100, 149),)),
    ("GA", 14, ((300, 319),)),
    ("PA", 13, ((150, 196),)),
    ("IL", 12.5, ((600, 629),)),
    ("OH", 11.8, ((430, 458),)),
    ("NC", 11, ((270, 289),)),
    ("MI", 10, ((480, 499),)),
    ("NJ", 9.3, ((70, 89),)),
    ("VA", 8.7, ((220, 246),)),
    ("WA", 7.8, ((980, 994),)),
    ("AZ", 7.4, ((850, 865),)),
    ("TN", 7, ((370, 385),)),
    ("MA", 7, ((10, 27),)),
    ("IN", 6.8, ((460, 479),)),
    ("MD", 6.5, ((206, 219),)),
    ("MO", 6.2, ((630, 658),)),
    ("WI", 5.9, ((530, 549),)),
    ("CO", 5.8, ((800, 816),)),
    ("MN", 5.7, ((550, 567),)),
    ("SC", 5.3, ((290, 299),)),
    ("AL", 5.1, ((350, 369),)),
    ("LA", 4.6, ((700, 714),)),
    ("KY", 4.5, ((400, 427),)),
    ("OR", 4.2, ((970, 979),)),
    ("OK", 4, ((730, 749),)),
    ("CT", 3.6, ((60, 69),)),
    ("UT", 3.4, ((840, 847),)),
    ("NV", 3.2, ((889, 898),)),
    ("IA", 3.2, ((500, 528),)),
    ("AR", 3, ((716, 729),)),
    ("MS", 2.9, ((386, 397),)),
    ("KS", 2.9, ((660, 679),)),
    ("NM", 2.1, ((870, 884),)),
    ("NE", 2, ((680, 693),)),
    ("ID", 1.9, ((832, 838),)),
    ("WV", 1.8, ((247, 268),)),
    ("HI", 1.4, ((967, 968),)),
    ("NH", 1.4, ((30, 38),)),
    ("ME", 1.4, ((39, 49),)),
    ("RI", 1.1, ((28, 29),)),
    ("MT", 1.1, ((590, 599),)),
    ("DE", 1, ((197, 199),)),
    ("SD", 0.9, ((570, 577),)),
    ("ND", 0.8, ((580, 588),)),
    ("AK", 0.7, ((995, 999),)),
    ("DC", 0.7, ((200, 205),)),
    ("VT", 0.6, ((50, 59),)),
    ("WY", 0.6, ((820, 831),)),
    ("PR", 0.5, ((6, 9),)),
]
NO_STATE_RATE = 0.02

# ---------------------------------------------------------------------------------------------
# Fictional companies
# ---------------------------------------------------------------------------------------------


@dataclass
class Company:
    """A fictional collector or lender and the profile that shapes its complaints."""

    key: str
    # Spellings as written in the Company column, with weights. Several spellings of one
    # company differ only in case, punctuation and legal suffix, so name folding has work.
    spellings: tuple[tuple[str, float], ...]
    complaints: int  # Debt collection complaints, not counting any planted spike
    short: str  # how consumers name it in narratives
    start: dt.date = DC_START
    end: dt.date = END
    quiet: tuple[dt.date, dt.date] | None = None  # a stretch with no complaints at all
    behaviour: dict[str, float] = field(default_factory=dict)  # family -> multiplier
    debt_kinds: dict[str, float] = field(default_factory=dict)  # debt kind -> multiplier
    home_states: tuple[str, ...] = ()


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


COMPANIES = [
    Company(
        "northwind",
        (
            ("Northwind Recovery Services, LLC", 0.6),
            ("NORTHWIND RECOVERY SERVICES LLC", 0.25),
            ("Northwind Recovery Services", 0.15),
        ),
        640,
        "Northwind Recovery",
    ),
    Company(
        "harborline",
        (
            ("Harborline Credit Solutions Inc.", 0.65),
            ("HARBORLINE CREDIT SOLUTIONS, INC.", 0.25),
            ("Harborline Credit Solutions", 0.1),
        ),
        540,
        "Harborline",
    ),
    Company(
        "amberfield",
        (("Amberfield Asset Recovery, L.P.", 1),),
        380,
        "Amberfield",
        behaviour={"not_owed": 1.3},
    ),
    # SIGNAL: harassment by phone, many repeated and early/late calls.
    Company(
        "ironbridge",
        (("Ironbridge Collection Agency, Inc.", 0.75), ("IRONBRIDGE COLLECTION AGENCY INC", 0.25)),
        300,
        "Ironbridge Collection Agency",
        start=_d("2014-01-06"),
        behaviour={"repeated": 6, "night": 15, "cease": 1.5},
        home_states=("TX", "OK", "LA"),
    ),
    Company(
        "maplecrest",
        (("Maplecrest Capital Holdings, LLC", 0.8), ("Maplecrest Capital Holdings L.L.C.", 0.2)),
        260,
        "Maplecrest Capital",
        behaviour={"legal": 2.5, "not_owed": 1.4},
    ),
    # SIGNAL: harassment of the "won't stop" kind: repeated calls, ignored stop requests, abuse.
    Company(
        "larkspur",
        (("Larkspur Receivables Group, LLC", 1),),
        230,
        "Larkspur Receivables",
        start=_d("2015-06-01"),
        behaviour={"repeated": 3, "cease": 4.5, "abuse": 3, "night": 2},
        home_states=("FL", "GA"),
    ),
    # SIGNAL: third-party disclosure (family, neighbours, employers).
    Company(
        "silverpine",
        (("Silverpine Account Management, LLC", 1),),
        210,
        "Silverpine",
        behaviour={"third_party": 12},
    ),
    # SIGNAL: a one-month spike of repeated-call complaints in 2024 (see SPIKE below).
    Company("cobaltridge", (("Cobalt Ridge Financial, Inc.", 1),), 170, "Cobalt Ridge Financial"),
    Company(
        "quartzline",
        (("Quartzline Bank, N.A.", 1),),
        160,
        "Quartzline Bank",
        behaviour={"deception": 1.5},
        debt_kinds={"credit_card": 25},
    ),
    Company(
        "thornapple",
        (("Thornapple Medical Billing Services, Inc.", 1),),
        140,
        "Thornapple Medical Billing",
        behaviour={"notice": 1.5},
        debt_kinds={"medical": 30},
    ),
    Company(
        "saltmarsh",
        (("Saltmarsh Legal Recovery, P.C.", 1),),
        120,
        "Saltmarsh Legal",
        behaviour={"legal": 5, "threat": 1.5},
    ),
    Company(
        "copperleaf",
        (("Copperleaf Installment Lending, LLC", 1),),
        110,
        "Copperleaf Lending",
        start=_d("2016-01-04"),
        behaviour={"threat": 1.8},
        debt_kinds={"payday": 30},
    ),
    Company(
        "bluefinch",
        (("Bluefinch Consumer Finance Corp.", 1),),
        95,
        "Bluefinch",
        debt_kinds={"credit_card": 10, "auto": 4},
    ),
    Company(
        "oakhollow",
        (("Oakhollow Collection Bureau, Inc.", 1),),
        85,
        "Oakhollow Collection Bureau",
        end=_d("2021-06-30"),
    ),
    Company(
        "pebblebrook",
        (("Pebblebrook Telecom Collections, LLC", 1),),
        75,
        "Pebblebrook",
        start=_d("2017-01-09"),
        debt_kinds={"telecom": 30},
    ),
    Company("starling", (("Starling Crest Recovery Corp.", 1),), 65, "Starling Crest"),
    Company(
        "windrow",
        (("Windrow Financial Partners, Inc.", 1),),
        55,
        "Windrow Financial",
        debt_kinds={"mortgage": 25},
    ),
    Company(
        "galewind",
        (("Galewind Auto Finance Co.", 1),),
        50,
        "Galewind Auto Finance",
        debt_kinds={"auto": 30},
    ),
    Company(
        "brightmoor",
        (("Brightmoor Servicing Company", 1),),
        45,
        "Brightmoor Servicing",
        debt_kinds={"mortgage": 25},
    ),
    # A small lender with a long run of empty months (tests zero-filled monthly series).
    Company(
        "juniperflats",
        (("Juniper Flats Lending, LLC", 1),),
        40,
        "Juniper Flats Lending",
        start=_d("2018-01-08"),
        quiet=(_d("2021-02-01"), _d("2021-09-30")),
        debt_kinds={"payday": 20},
        home_states=("NM", "AZ"),
    ),
    Company(
        "mistral",
        (("Mistral Bay Credit Union", 1),),
        30,
        "Mistral Bay Credit Union",
        debt_kinds={"credit_card": 6, "auto": 6},
    ),
    Company(
        "foxglove",
        (("Foxglove Payments, Inc.", 1),),
        28,
        "Foxglove Payments",
        start=_d("2019-02-04"),
        debt_kinds={"other": 4},
    ),
    Company(
        "driftwood",
        (("Driftwood Student Loan Servicing, LLC", 1),),
        25,
        "Driftwood",
        debt_kinds={"student": 40},
    ),
    Company(
        "cinderpath",
        (("Cinderpath Recovery Associates", 1),),
        22,
        "Cinderpath",
        end=_d("2019-12-31"),
    ),
    Company(
        "tamarack",
        (("Tamarack Rental Debt Services, LLC", 1),),
        20,
        "Tamarack",
        start=_d("2020-01-06"),
        debt_kinds={"rental": 40},
    ),
    Company("wrenfield", (("Wrenfield Financial Group, Inc.", 1),), 15, "Wrenfield Financial"),
    Company(
        "hollowell",
        (("Hollowell, Finch & Marr, P.A.", 1),),
        12,
        "Hollowell Finch",
        behaviour={"legal": 4},
    ),
    # The long tail: fewer than 10 complaints, down to exactly one.
    Company("kestrel", (("Kestrel Point Recovery, LLC", 1),), 7, "Kestrel Point"),
    Company("quillfeather", (("Quillfeather Debt Advisors, Inc.", 1),), 4, "Quillfeather"),
    Company(
        "tallgrass",
        (("Tallgrass Medical Billing Co.", 1),),
        1,
        "Tallgrass Medical Billing",
        start=_d("2022-03-01"),
        debt_kinds={"medical": 40},
    ),
]
COMPANY_BY_KEY = {c.key: c for c in COMPANIES}

# The planted spike: one lender, one month, a burst of repeated-call complaints.
SPIKE_COMPANY = "cobaltridge"
SPIKE_FIRST_DAY = dt.date(2024, 6, 3)
SPIKE_LAST_DAY = dt.date(2024, 6, 28)
SPIKE_ROWS = 70
SPIKE_LABEL = ("Communication tactics", "Frequent or repeated calls", "repeated_calls")

# ---------------------------------------------------------------------------------------------
# English narrative fragments
# ---------------------------------------------------------------------------------------------
# Sentences carry {slots} that are filled per use (see EN_SLOTS). They describe each topic the
# way consumers do, redactions included, and stay obviously generic.

OPENERS = [
    "I am writing about {co}, a debt collector that is trying to collect {debt} of {amt}.",
    "On {date} I received a letter from {co} saying that I owe {amt} to {orig}.",
    "{co} has been trying to collect {debt} that they say they bought from {orig}.",
    "Since {month} I have been dealing with a collection agency called {co}.",
    "This complaint is about {co} and the way they are collecting {debt}.",
    "In {month} {co} started contacting me about {debt}. They say I owe {amt}.",
    "I have an account in collections with {co}. The original creditor was {orig}.",
    "My complaint is against {co}.",
]

TOPIC_SENTENCES: dict[str, list[str]] = {
    "repeated_calls": [
        "They called me {per_day} times a day, every day, for {weeks} weeks.",
        "I get {per_day} calls a day from different numbers, and every one of them is {co}.",
        "My phone log shows {n2} calls from them in {days} days.",
        "They call my cell phone and then my home phone right after, back to back.",
        "Last week alone they called {n2} times, sometimes twice in the same hour.",
        "When I pick up, the line is silent for a few seconds and then a recording asks me to "
        "hold for a representative.",
        "I told the first representative that I would pay on {date}, but the calls did not slow "
        "down at all.",
        "They use an auto dialer and call again as soon as I hang up.",
        "I cannot keep my phone on at work because it rings all day with their calls.",
    ],
    "night_calls": [
        "A collector called at {early}, while my children were still asleep.",
        "They called me at {late}, long after 9pm, more than once.",
        "I work the night shift and they call at {early}, which wakes me up every day.",
        "One of the calls came at {late} on a Sunday.",
        "I asked them not to call before 8am and the next morning they called at {early}.",
        "I have the call log showing calls at {early} and at {late}.",
    ],
    "cease": [
        "I told them to stop calling me on {date}, and they kept trying anyway.",
        "I sent a letter by certified mail asking them to stop all communication. They signed for "
        "it on {date} and still called me {n} more times.",
        "Every time I ask them to contact me only in writing, the representative says he will "
        "make a note, but the calls continue.",
        "I have asked them to stop contacting me at least {n} times.",
        "After I asked them to stop, they started calling from a different number.",
        "My written request to stop contacting me is attached, with the list of calls I got "
        "after they received it.",
    ],
    "repeated_messages": [
        "They send me {per_day} text messages a day, plus emails.",
        "I replied STOP to their texts but the messages keep coming from new numbers.",
        "My inbox has {n2} emails from them in {days} days, all asking me to log in and pay.",
        "They message my cell phone every morning and every evening.",
        "Even after I set up a payment, the texts continued several times a day.",
    ],
    "night_messages": [
        "They send texts at {late} and emails at {early}.",
        "A text from them woke me at {early} on a Saturday.",
        "I get their messages in the middle of the night, around {late}.",
    ],
    "cease_messages": [
        "I asked them by email to stop emailing and texting me, and they replied with another "
        "payment link.",
        "I used the opt out link in their email on {date}, but the emails did not stop.",
        "I texted STOP {n} times and I still receive messages.",
    ],
    "abuse": [
        "The collector cursed at me and called me a deadbeat.",
        "He cursed at me when I said I could not pay the full amount that day.",
        "The person on the phone yelled at me and used language I will not repeat here.",
        "He called me a liar and a thief and hung up on me.",
        "When I asked for a name, the agent swore at me and said it did not matter.",
        "The agent laughed at me and said people like me should not have credit.",
    ],
    "threat_arrest": [
        "The agent threatened to have me arrested if I did not pay {amt} by Friday.",
        "He said a warrant would be issued and that the sheriff would come to my job.",
        "They told me I would go to jail if I did not make a payment today.",
        "The caller said the police would pick me up at my home this week.",
    ],
    "threat_sue": [
        "They threatened to sue me and garnish my wages if I did not pay the full balance.",
        "This debt is more than {oldyears} years old and they said they would take me to court "
        "anyway.",
        "The representative said a lawsuit would be filed against me within {days} days.",
        "I was told their legal department had my file and I would be sued next week.",
    ],
    "threat_credit": [
        "They said they would ruin my credit if I did not agree to a payment plan today.",
        "The agent told me this would stay on my credit report for the rest of my life unless I "
        "paid now.",
        "They threatened to report the account to all three bureaus even though I am disputing it.",
    ],
    "crime": [
        "He told me I was committing a crime by not paying and that this was check fraud.",
        "They said not paying this debt was theft and that charges could be filed.",
    ],
    "impersonation": [
        "A man who said he was an attorney told me charges would be filed against me.",
        "The caller said he was calling from the county court and that I had to pay to avoid a "
        "hearing.",
        "They left a voicemail pretending to be from a law enforcement office.",
        "The letter looked like it came from a government agency, but it was from {co}.",
    ],
    "immigration": [
        "The agent said he would report me to immigration if I did not pay.",
        "They told me they would have me deported, even though I am a legal resident.",
    ],
    "third_party": [
        "They called my {rel} and my {boss} about the debt.",
        "They left a message with my {rel} explaining how much I owe.",
        "My {rel} got a call from {co} asking them to pass on a message about my account.",
        "A collector told my {rel} the balance and the name of the original creditor.",
        "They sent a message to my {rel} on social media about my debt.",
        "My neighbor told me someone from {co} came by and asked about my debt.",
    ],
    "employer": [
        "A collector called my workplace and told my {boss} that I owed money.",
        "They contacted my employer even after I told them I cannot take calls at work.",
        "The HR department at my job was called twice about this account.",
        "My {boss} now knows about my debt because they called the front desk at my office.",
    ],
    "attorney": [
        "I have an attorney and I gave them her contact information, but they keep contacting me "
        "directly.",
        "My lawyer sent them a letter of representation on {date}, and they still call me "
        "instead of her.",
    ],
    "not_mine": [
        "The debt is not mine. I have never had an account with {orig}.",
        "They are trying to collect from me on an account that belongs to someone with a "
        "similar name.",
        "I have never lived at the address listed on their letter.",
        "They never threatened me, but the debt is not mine and they keep reporting it.",
        "I asked for the signed contract and they could not produce anything with my name on it.",
    ],
    "paid": [
        "I paid this account in full on {date} and I have the bank statement to prove it.",
        "I settled this debt with {orig} for {amt} in {year} and I have the settlement letter.",
        "The account was paid off, but they are still trying to collect and it shows on my "
        "credit report.",
    ],
    "identity_theft": [
        "This account was opened by someone who stole my identity. I filed a police report on "
        "{date}.",
        "I sent them my FTC identity theft report and they still say I owe {amt}.",
        "I have never applied for credit with {orig}; my identity was stolen in {year}.",
    ],
    "bankruptcy": [
        "This debt was discharged in my Chapter 7 bankruptcy in {year}.",
        "I sent them a copy of my bankruptcy discharge order, but they keep sending letters.",
    ],
    "wrong_amount": [
        "The original balance was {amt_small} but they are now asking for {amt}.",
        "They added fees and interest that were never part of my agreement.",
        "Every letter shows a different balance, and none of them match my records.",
        "I agreed to a settlement of {amt_small} and now they say I owe {amt}.",
    ],
    "lawsuit_advice": [
        "The collector told me I did not need to answer the court papers because we were working "
        "out a deal.",
        "He said I should ignore the lawsuit and they would drop it once I paid.",
    ],
    "verify": [
        "I asked for verification of the debt on {date} and they never sent it, but they kept "
        "collecting.",
        "I never received a validation letter or anything in writing showing what this debt is.",
        "They could not tell me who the original creditor was or when the account was opened.",
        "I disputed the debt in writing within 30 days and they did not answer.",
    ],
    "dispute_notice": [
        "I was never told I had the right to dispute the debt.",
        "The first letter I got did not explain how to dispute the balance.",
        "The notice arrived after they had already reported the account to my credit.",
    ],
    "not_disclosed": [
        "The caller never said she was a debt collector or that this was an attempt to collect a "
        "debt.",
        "The letter did not say it was from a debt collector.",
    ],
    "sued_no_notice": [
        "I found out I had been sued only when my bank account was frozen.",
        "I was never served with the lawsuit and they got a default judgment against me.",
        "A judgment appeared on my record for a case I never knew about.",
    ],
    "wrong_venue": [
        "They sued me in a county where I have never lived.",
        "The lawsuit was filed in another state, hundreds of miles from my home.",
    ],
    "seize": [
        "They said they would repossess my car this week, even though there is no lien on it.",
        "A man came to my home and said he was there to take my property.",
    ],
    "exempt": [
        "They took {amt} from my bank account, which only holds my Social Security benefits.",
        "My unemployment benefits were garnished after I told them the money is exempt.",
    ],
}

# Extra sentences for the planted spike, so its narratives read like one burst of calling.
SPIKE_SENTENCES = [
    "Starting in early June they began calling me {per_day} times a day from numbers I do "
    "not recognize.",
    "It feels like they switched on a new dialing system this month, because the calls never stop.",
    "Since the beginning of the month I get a call almost every hour.",
]

# A second behaviour that often comes up in the same story.
RELATED_TOPICS = {
    "repeated_calls": ["night_calls", "cease", "abuse"],
    "night_calls": ["repeated_calls"],
    "cease": ["repeated_calls"],
    "repeated_messages": ["cease_messages", "repeated_calls"],
    "cease_messages": ["repeated_messages"],
    "abuse": ["threat_arrest", "repeated_calls"],
    "threat_arrest": ["abuse"],
    "threat_sue": ["abuse"],
    "third_party": ["employer", "repeated_calls"],
    "employer": ["third_party"],
    "not_mine": ["verify", "threat_credit"],
    "paid": ["wrong_amount"],
    "verify": ["not_mine", "dispute_notice"],
}

# Negated statements give text classifiers honest negatives ("nobody threatened me").
# Each one names the family it denies, so it is never used on a row of that family.
NEGATIONS = [
    ("abuse", "Nobody was rude to me on the phone, that is not the problem."),
    ("abuse", "The representatives were polite, but polite does not make it legal."),
    ("threat", "They have never threatened me."),
    ("threat", "To be fair, nobody threatened to sue me or have me arrested."),
    ("repeated", "They do not call often, maybe once a month."),
    ("third_party", "As far as I know they have not contacted my family or my employer."),
    ("night", "The calls come during normal business hours."),
    ("not_owed", "I am not denying that I owed {orig} money at one point."),
]

# Circumstances consumers add in longer letters.
BACKGROUND = [
    "I lost my job in {year} and fell behind on a few bills.",
    "I was in the hospital for several weeks and my mail piled up.",
    "I moved to a new state in {year} and updated my address with everyone.",
    "I have been disputing this since {date} and I have copies of every letter.",
    "I called {orig} directly to ask about the account and was sent back to the collector.",
    "I checked my credit report on {date} and saw the collection account for the first time.",
    "I offered to set up a small monthly payment while I sort this out, and they refused.",
]

# Who is writing; at most one per narrative so the persona stays consistent.
PERSONAS = [
    "I am a single parent and this has been very stressful.",
    "I am {age} years old and on a fixed income.",
    "I am a veteran and I have always paid my bills.",
    "I work full time and I have never been late on any other bill.",
]

# Evidence consumers mention.
DETAILS = [
    "I have kept a log of every call and letter.",
    "I have a recording of one of the calls.",
    "I sent them a dispute letter by certified mail on {date}.",
    "The account number on their letter ends in XXXX.",
    "Their phone number is ( XXXX ) XXXX-XXXX.",
]

CLOSERS = [
    "I want them to stop contacting me and to remove this account from my credit report.",
    "Please help me. I do not know what else to do.",
    "I am asking the CFPB to investigate this company.",
    "I would like {co} to send me proof of this debt and to stop calling until they do.",
    "This has caused me a lot of stress and I want it to stop.",
    "I am requesting that they correct their records and stop collecting on this account.",
    "Thank you for your help.",
]

OOS_SENTENCES = {
    "credit_card": [
        "I disputed a charge of {amt} on my statement from {date}, and the bank closed my "
        "dispute without explanation.",
        "I was charged a late fee even though my payment was made on time.",
        "My interest rate went up without any notice.",
        "Someone opened a card in my name and the bank will not close it.",
        "I have called customer service {n} times and nobody can explain the charges.",
    ],
    "mortgage": [
        "My mortgage servicer applied my payment late and charged me a fee.",
        "I applied for a loan modification on {date} and never heard back.",
        "My escrow account was short by {amt} and my payment went up without explanation.",
        "They lost my paperwork three times.",
    ],
    "bank": [
        "The bank put a hold on a deposit of {amt} for ten days.",
        "My account was closed without notice and my balance has not been returned.",
        "I was charged overdraft fees of {amt_small} on transactions that should have cleared.",
        "Customer service keeps transferring me between departments.",
    ],
}
OOS_OPENERS = ["This complaint is about {co}.", "I have had an account with {co} since {since}."]

EARLY_TIMES = ["6am", "6:15 am", "7:00am", "5:45 in the morning", "6:30 am", "7:20am"]
LATE_TIMES = ["9:45 pm", "10pm", "10:30 at night", "11:15 pm", "9:30pm", "midnight"]
RELATIVES = [
    "mother",
    "father",
    "sister",
    "brother",
    "grandmother",
    "ex-husband",
    "daughter",
    "aunt",
    "roommate",
    "neighbor",
]
BOSSES = ["boss", "supervisor", "manager", "HR department"]

# ---------------------------------------------------------------------------------------------
# Chinese (黑猫投诉) tables
# ---------------------------------------------------------------------------------------------


@dataclass
class CnLender:
    """A fictional Chinese online lender and the mix of complaints it draws."""

    obj: str  # the object column, as the platform writes it
    trad_obj: str | None  # a Traditional spelling of the same lender, if rows use one
    complaints: int
    collection_share: float  # share of complaints about collection rather than fees
    behaviour: dict[str, float] = field(default_factory=dict)  # collection family weights
    fees: dict[str, float] = field(default_factory=dict)  # fee family weights


CN_LENDERS = [
    # SIGNAL: 爆通讯录 and 呼死你.
    CnLender("速借通App", None, 62, 0.82, {"contacts": 4, "flood": 4, "violent": 3}),
    # SIGNAL: 冒充公检法 and threats. Written 快易贷 and 快易貸.
    CnLender("快易贷", "快易貸", 45, 0.7, {"impersonate": 5, "threat": 3}),
    CnLender("云朵钱包", "雲朵錢包", 38, 0.45),
    # Mostly 会员费: the negatives a classifier must leave alone.
    CnLender("青禾分期App", None, 35, 0.1, fees={"member": 5}),
    CnLender("橙果易借", None, 30, 0.5),
    # SIGNAL: 深夜催收 and harassing family. Written 金穗贷 and 金穗貸.
    CnLender("金穗贷", "金穗貸", 30, 0.7, {"night": 5, "family": 4}),
    CnLender("北辰速贷", None, 25, 0.75, {"contacts": 3, "family": 3}),
    CnLender("海棠信用", None, 18, 0.15, fees={"fee": 3, "prepay": 2}),
    CnLender("鹿鸣小贷App", None, 10, 0.5),
    CnLender("麦田优借App", None, 7, 0.3),
]

# Complaints are dated by year; the P2P clean-up years draw the most.
CN_YEAR_WEIGHTS = {
    2019: 1.0,
    2020: 1.3,
    2021: 1.1,
    2022: 0.8,
    2023: 0.7,
    2024: 0.7,
    2025: 0.8,
    2026: 0.8,
}
CN_TRAD_RATE = 0.22  # whole complaint in Traditional characters
CN_MIXED_RATE = 0.06  # some sentences Traditional, some Simplified

CN_COLLECTION_BACKGROUND = [
    "本人于{date}在{lender}借款{amt}元，分{periods}期还款，因家里出事逾期了{days}天。",
    "我在{lender}借了{amt}元，最近收入不稳定，逾期{days}天。",
    "{date}通过{lender}借款{amt}元，之前一直按时还款，这个月晚了几天。",
    "因为失业，{lender}的借款{amt}元逾期{days}天，我一直在积极协商。",
    "在{lender}有一笔{amt}元的借款逾期，我本人从未拒绝还款。",
]
CN_COLLECTION_SENTENCES = {
    "violent": [
        "催收人员态度极其恶劣，属于典型的暴力催收。",
        "逾期第一天就开始暴力催收，一天几十个电话。",
        "平台纵容第三方催收公司暴力催收，投诉多次无果。",
    ],
    "contacts": [
        "催收爆通讯录，我通讯录的亲戚朋友都接到了电话和短信。",
        "他们把我的欠款信息群发给通讯录联系人，严重侵犯隐私。",
        "威胁说再不还就爆通讯录，第二天真的给我朋友打了电话。",
    ],
    "flood": [
        "用不同的号码轮番打电话，一天上百个，完全就是呼死你。",
        "手机被呼死你软件轰炸，根本没法正常使用。",
        "每天几十个电话和短信轰炸，用私人号码和虚拟号码打。",
    ],
    "impersonate": [
        "催收人员冒充公检法，说我涉嫌诈骗，已经立案。",
        "有人自称是法院的工作人员，说明天就上门执行。",
        "冒充律师和公安给我打电话，说要抓我坐牢。",
    ],
    "insult": [
        "电话中言语辱骂，骂得非常难听，还侮辱我的家人。",
        "催收员辱骂我是老赖，还说了很多不堪入耳的话。",
    ],
    "threat": [
        "威胁要把我的照片和身份证发到网上。",
        "恐吓说要上门找我，让我在单位待不下去。",
        "威胁恐吓我，说不还钱就让我全家不得安宁。",
    ],
    "family": [
        "骚扰家人，给我父母打电话说我欠钱不还。",
        "打电话到我单位骚扰同事和领导，我差点丢了工作。",
        "连我多年不联系的亲戚都被骚扰了。",
    ],
    "night": [
        "深夜催收，晚上十一点多还在打电话。",
        "凌晨一点给我发威胁短信，家人都被吵醒。",
        "每天晚上十点以后还在打电话，严重影响休息。",
    ],
}
CN_NEGOTIATION = [
    "我多次联系客服协商分期还款，客服只说会反馈。",
    "我已经还了一部分，但催收仍然不停。",
    "我愿意还本金，但希望平台停止这种行为。",
]
CN_COLLECTION_ASKS = [
    "要求平台立即停止骚扰，规范催收行为。",
    "请求黑猫投诉帮忙，要求停止暴力催收并道歉。",
    "希望相关部门严查，停止骚扰我的家人和朋友。",
    "要求停止骚扰，协商合理的还款方案。",
]
# A complaint's headline names its main behaviour (the first one drawn).
CN_COLLECTION_TITLES = {
    "violent": "{short}暴力催收",
    "contacts": "{short}爆通讯录",
    "flood": "{short}呼死你式催收",
    "impersonate": "{short}催收冒充公检法",
    "insult": "{short}催收人员辱骂",
    "threat": "{short}催收威胁恐吓",
    "family": "{short}违规催收，骚扰家人",
    "night": "{short}深夜催收骚扰",
}
# Options of the platform's demands field (as in the real sample); "停止骚扰" always leads.
CN_COLLECTION_DEMANDS = ["道歉赔偿/解释", "处罚", "销账", "撤销征信问题", "调整利率"]
CN_COLLECTION_FREE_TEXT = "停止催收，协商还款"

CN_FEE_BACKGROUND = [
    "我于{date}在{lender}借款{amt}元，分{periods}期，每月还款{monthly}元。",
    "{date}在{lender}借款{amt}元，到账后才发现费用很高。",
    "本人在{lender}有一笔{amt}元的借款，已经按时还清。",
]


@dataclass
class CnFeeTopic:
    """A non-collection complaint type: what it says, its headline and what it asks for."""

    sentences: list[str]
    title: str
    asks: list[str]
    demands: list[str]  # platform options, 1-3 of them joined by ","
    free_text: str  # a demand typed by hand instead, as in the real sample


CN_FEE_TOPICS = {
    "fee": CnFeeTopic(
        [
            "其中每月担保费{fee_small}元，综合年化利率超过国家规定的24%。",
            "除了利息还有服务费和担保费，实际利率远高于宣传的。",
        ],
        "{short}高额担保费",
        ["要求退还担保费和多收的利息。", "要求平台调整利率，退还超出部分。"],
        ["退息费", "调整利率", "退还多余担保费", "道歉赔偿/解释"],
        "退还多余担保费",
    ),
    "member": CnFeeTopic(
        [
            "平台在我不知情的情况下扣了会员费{fee}元，会员权益从来没用过。",
            "借款时默认勾选了会员卡，扣费{fee}元，申请退款被拒。",
        ],
        "{short}乱收会员费",
        ["要求退还会员费{fee}元。"],
        ["退会员费", "退息费", "道歉赔偿/解释"],
        "退息费，退会员费",
    ),
    "credit": CnFeeTopic(
        ["已经结清了，征信上仍显示逾期，影响我房贷审批。"],
        "{short}征信问题",
        ["要求撤销征信上的逾期记录。"],
        ["撤销征信问题", "销账", "道歉赔偿/解释"],
        "撤销逾期记录",
    ),
    "prepay": CnFeeTopic(
        ["提前结清时多收了{fee}元的利息和担保费。"],
        "{short}提前还款多收利息",
        ["要求退还多收的利息和担保费。"],
        ["退息费", "退还多余担保费"],
        "退还多余担保费",
    ),
}
# Collection words in a negated sentence: a keyword matcher must not count these.
CN_FEE_NEGATIONS = [
    "平台没有暴力催收，主要问题是费用不透明。",
    "催收倒是没有骚扰我，但是会员费必须退还。",
    "我一直按时还款，从来没有逾期，也没有被催收过。",
]
CN_FREE_TEXT_RATE = 0.15

# Simplified -> Traditional for exactly the characters used above, as "简繁" pairs. A
# per-character table is only safe because it was checked against OpenCC's phrase-aware s2tw
# on every sentence here; re-check when adding sentences (系 is 繫 in 联系 but 係 in 关系).
_S2T_PAIRS = (
    "业業 丢丟 严嚴 个個 为為 乱亂 于於 云雲 亲親 从從 们們 优優 会會 传傳 "
    "关關 况況 几幾 务務 协協 单單 发發 台臺 号號 后後 吓嚇 听聽 员員 响響 "
    "国國 宁寧 实實 审審 导導 属屬 师師 帮幫 并並 开開 录錄 征徵 态態 恶惡 "
    "愿願 执執 扰擾 担擔 拟擬 无無 时時 显顯 机機 权權 来來 极極 检檢 没沒 "
    "点點 猫貓 现現 电電 码碼 种種 积積 称稱 稳穩 笔筆 系繫 纵縱 经經 结結 "
    "给給 绝絕 综綜 网網 联聯 胁脅 范範 虚虛 规規 认認 让讓 讯訊 记記 证證 "
    "诈詐 诉訴 话話 语語 说說 请請 调調 账賬 贷貸 费費 赖賴 轮輪 软軟 轰轟 "
    "过過 还還 这這 远遠 违違 连連 选選 里裡 钱錢 销銷 门門 问問 际際 隐隱 "
    "难難 须須 领領 题題 额額 馈饋 骂罵 骗騙 骚騷 鸣鳴 麦麥 "
)
_S2T = str.maketrans({pair[0]: pair[1] for pair in _S2T_PAIRS.split()})


def to_traditional(text: str) -> str:
    """Convert the Simplified sentences of this script to Traditional characters."""
    return text.translate(_S2T)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

Weighted = Sequence[tuple[object, float]]


def pick(rng: random.Random, table: Weighted):
    """Weighted choice over (item, weight) pairs."""
    items = [item for item, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(items, weights=weights, k=1)[0]


def era_of(day: dt.date) -> str:
    if day < ERA_2017:
        return "pre2017"
    if day < ERA_2023:
        return "2017"
    return "2023"


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def volume_weight(day: dt.date, growth: float) -> float:
    """Relative complaint volume on a day.

    Volume grows exponentially over the years, peaks mildly in spring (tax-refund season),
    dips at weekends, and thins over the last month because recent complaints are still being
    back-filled in real exports.
    """
    years = (day - FILE_START).days / 365.25
    seasonal = 1 + 0.12 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 100) / 365.25)
    weekday = 0.45 if day.weekday() >= 5 else 1.0
    backfill = min(1.0, 0.4 + 0.6 * (END - day).days / 30)
    return math.exp(growth * years) * seasonal * weekday * backfill


def sample_days(
    rng: random.Random,
    first: dt.date,
    last: dt.date,
    k: int,
    growth: float,
    quiet: tuple[dt.date, dt.date] | None = None,
) -> list[dt.date]:
    days = [d for d in days_between(first, last) if not (quiet and quiet[0] <= d <= quiet[1])]
    weights = [volume_weight(d, growth) for d in days]
    return rng.choices(days, weights=weights, k=k)


def money(rng: random.Random, low: int, high: int) -> str:
    """An amount in the CFPB narrative style, e.g. {$450.00}."""
    value = rng.randint(low, high)
    cents = rng.choice([0, 0, 0, rng.randint(1, 99)])
    return "{$" + f"{value}.{cents:02d}" + "}"


def redacted_date(rng: random.Random, year: int) -> str:
    """CFPB scrubbing leaves XX/XX/XXXX, or keeps only the year."""
    if rng.random() < 0.45:
        return "XX/XX/XXXX"
    return f"XX/XX/{rng.choice([year - 1, year, year])}"


# Slot makers for English templates. ctx holds what must stay fixed within one narrative.
EN_SLOTS: dict[str, Callable[[random.Random, dict], str]] = {
    "n": lambda rng, ctx: str(rng.choice([3, 4, 5, 6, 7, 8, 8, 9, 10, 12, 15])),
    "n2": lambda rng, ctx: str(rng.randint(20, 95)),
    "days": lambda rng, ctx: str(rng.randint(3, 14)),
    "weeks": lambda rng, ctx: str(rng.randint(2, 8)),
    "oldyears": lambda rng, ctx: str(rng.randint(7, 15)),
    "age": lambda rng, ctx: str(rng.randint(62, 84)),
    "early": lambda rng, ctx: rng.choice(EARLY_TIMES),
    "late": lambda rng, ctx: rng.choice(LATE_TIMES),
    "rel": lambda rng, ctx: rng.choice(RELATIVES),
    "boss": lambda rng, ctx: rng.choice(BOSSES),
    "orig": lambda rng, ctx: rng.choice(["XXXX", "XXXX XXXX", "XXXX XXXX XXXX"]),
    "amt": lambda rng, ctx: money(rng, 150, 9000),
    "amt_small": lambda rng, ctx: money(rng, 40, 900),
    "date": lambda rng, ctx: redacted_date(rng, ctx["year"]),
    "since": lambda rng, ctx: str(ctx["year"] - rng.randint(1, 9)),
    "month": lambda rng, ctx: rng.choice(["XXXX ", "XX/XX/"]) + str(ctx["year"]),
}
SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random, ctx: dict, makers: dict) -> str:
    """Fill {slots}: fixed ones from ctx, the rest freshly drawn for every occurrence."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in ctx:
            return str(ctx[name])
        return makers[name](rng, ctx)

    text = SLOT.sub(one, template)
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# CFPB rows
# ---------------------------------------------------------------------------------------------


def choose_label(rng: random.Random, company: Company, day: dt.date) -> tuple[str, str, str]:
    """(Issue, Sub-issue, topic) in the wording of the day's era, shaped by the company."""
    table = []
    for issue, subs in DC_TAXONOMY[era_of(day)].items():
        for sub_issue, topic, weight in subs:
            factor = company.behaviour.get(TOPIC_FAMILY[topic], 1.0)
            table.append(((issue, sub_issue, topic), weight * factor))
    issue, sub_issue, topic = pick(rng, table)
    if day < ERA_2017 and rng.random() < EMPTY_SUB_ISSUE_RATE:
        return issue, "", ISSUE_ONLY_TOPIC[issue]
    return issue, sub_issue, topic


def choose_sub_product(rng: random.Random, company: Company, day: dt.date) -> tuple[str, str]:
    """(Sub-product label, debt kind) for the era, favouring the company's line of business."""
    table = []
    for label, kinds, weight in DC_SUB_PRODUCTS[era_of(day)]:
        factor = max(company.debt_kinds.get(kind, 1.0) for kind in kinds)
        table.append(((label, kinds), weight * factor))
    label, kinds = pick(rng, table)
    kind = max(kinds, key=lambda k: company.debt_kinds.get(k, 1.0))
    return label, kind


def choose_state(rng: random.Random, home_states: Sequence[str]) -> str:
    if rng.random() < NO_STATE_RATE:
        return ""
    table = [(code, weight * (6 if code in home_states else 1)) for code, weight, _ in STATES]
    return pick(rng, table)


def choose_zip(rng: random.Random, state: str, day: dt.date, has_narrative: bool) -> str:
    """5-digit ZIPs for old rows; masked 3-digit ZIPs whenever a narrative is published."""
    if not state:
        return ""
    low, high = rng.choice(next(ranges for code, _, ranges in STATES if code == state))
    zip3 = f"{rng.randint(low, high):03d}"
    if has_narrative:
        return zip3 + "XX"
    roll = rng.random()
    if day < NARRATIVE_START:
        return "" if roll < 0.04 else f"{zip3}{rng.randint(0, 99):02d}"
    if roll < 0.1:
        return ""
    if roll < 0.4:
        return zip3 + "XX"
    return f"{zip3}{rng.randint(0, 99):02d}"


def company_response(rng: random.Random, day: dt.date) -> str:
    """Recent complaints are still open; the closing vocabulary changed over the years."""
    age = (END - day).days
    if (age < 15 and rng.random() < 0.85) or (age < 45 and rng.random() < 0.35):
        return "In progress"
    if rng.random() < 0.002:
        return "In progress"
    if day < dt.date(2013, 1, 1):
        table = [
            ("Closed with explanation", 45),
            ("Closed without relief", 20),
            ("Closed with relief", 20),
            ("Closed with monetary relief", 10),
            ("Closed with non-monetary relief", 5),
        ]
    elif day < ERA_2017:
        table = [
            ("Closed with explanation", 70),
            ("Closed with non-monetary relief", 14),
            ("Closed with monetary relief", 4),
            ("Closed", 6 if day < dt.date(2017, 2, 1) else 0),
            ("Untimely response", 1.5),
        ]
    else:
        table = [
            ("Closed with explanation", 84),
            ("Closed with non-monetary relief", 10),
            ("Closed with monetary relief", 3),
            ("Untimely response", 1.2),
        ]
    return pick(rng, table)


def date_sent(rng: random.Random, day: dt.date) -> dt.date:
    """Most complaints are forwarded the same day; a few wait for review."""
    lag = pick(
        rng,
        [(0, 75), (rng.randint(1, 7), 17), (rng.randint(8, 20), 6), (rng.randint(21, 40), 2)],
    )
    return min(END, day + dt.timedelta(days=lag))


def compose(rng: random.Random, paragraphs: list[list[str]]) -> str:
    """Join sentences; some narratives are typed as several paragraphs."""
    style = pick(rng, [(" ", 62), ("\n", 15), ("\n\n", 23)])
    if style == " ":
        return " ".join(s for para in paragraphs for s in para)
    return style.join(" ".join(para) for para in paragraphs if para)


def fit_length(
    rng: random.Random,
    paragraphs: list[list[str]],
    extras: list[str],
    ctx: dict,
    low: int = 100,
    high: int = 1200,
) -> str:
    """Trim or pad a narrative into the 100-1,200 character window."""
    text = compose(rng, paragraphs)
    while len(text) > high:
        body = paragraphs[1]
        if len(body) <= 1:
            return text[: high - 1].rsplit(" ", 1)[0] + "."
        body.pop()
        text = compose(rng, paragraphs)
    while len(text) < low and extras:
        paragraphs[1].append(fill(extras.pop(), rng, ctx, EN_SLOTS))
        text = compose(rng, paragraphs)
    return text


def dc_narrative(
    rng: random.Random, topic: str, ctx: dict, extra_topic_sentences: Sequence[str] = ()
) -> str:
    """An English complaint story about the row's sub-issue, with a few optional twists."""

    def sentence(template: str) -> str:
        return fill(template, rng, ctx, EN_SLOTS)

    # Real narratives range from one terse line to long letters; draw a size first.
    size = pick(rng, [("short", 15), ("medium", 60), ("long", 25)])
    wanted = {"short": 1, "medium": rng.randint(2, 3), "long": rng.randint(3, 5)}[size]
    pool = TOPIC_SENTENCES[topic]
    body = [sentence(t) for t in rng.sample(pool, k=min(len(pool), wanted))]
    for template in extra_topic_sentences:
        body.insert(0, sentence(template))
    families = {TOPIC_FAMILY[topic]}
    if topic in RELATED_TOPICS and rng.random() < (0.7 if size == "long" else 0.2):
        other = rng.choice(RELATED_TOPICS[topic])
        body.append(sentence(rng.choice(TOPIC_SENTENCES[other])))
        families.add(TOPIC_FAMILY[other])
    if rng.random() < 0.25:
        options = [text for family, text in NEGATIONS if family not in families]
        body.insert(rng.randint(0, len(body)), sentence(rng.choice(options)))
    detail_count = {"short": 0, "medium": int(rng.random() < 0.35), "long": rng.randint(1, 2)}
    body += [sentence(t) for t in rng.sample(DETAILS, k=detail_count[size])]
    if rng.random() < {"short": 0.0, "medium": 0.25, "long": 0.7}[size]:
        body.append(sentence(rng.choice(PERSONAS)))
    opener = [sentence(rng.choice(OPENERS))]
    if size == "long":
        opener += [sentence(t) for t in rng.sample(BACKGROUND, k=rng.randint(1, 3))]
    closer = [sentence(rng.choice(CLOSERS))] if rng.random() < 0.8 else []
    if size == "long":
        closer.append(sentence(rng.choice(CLOSERS)))
    extras = [rng.choice(DETAILS), rng.choice(CLOSERS)]
    return fit_length(rng, [opener, body, closer], extras, ctx)


def oos_narrative(rng: random.Random, kind: str, ctx: dict) -> str:
    pool = OOS_SENTENCES[kind]
    body = [fill(t, rng, ctx, EN_SLOTS) for t in rng.sample(pool, k=rng.randint(2, 3))]
    opener = [fill(rng.choice(OOS_OPENERS), rng, ctx, EN_SLOTS)]
    closer = [fill(rng.choice(CLOSERS[1:3]), rng, ctx, EN_SLOTS)]
    return fit_length(rng, [opener, body, closer], [rng.choice(DETAILS)], ctx)


def narrative_ref(rng: random.Random, company: Company) -> str:
    """How the consumer names the company: by name, or as scrubbed XXXX."""
    return pick(rng, [(company.short, 60), ("XXXX XXXX", 30), ("XXXX", 10)])


def base_row(
    rng: random.Random, day: dt.date, company_name: str, home_states: Sequence[str]
) -> dict:
    """Columns shared by every product; narrative-dependent ones are settled in finish_row."""
    response = company_response(rng, day)
    wants_narrative = (
        day >= NARRATIVE_START and response != "In progress" and rng.random() < NARRATIVE_RATE
    )
    state = choose_state(rng, home_states)
    return {
        "Date received": day,
        "Company": company_name,
        "State": state,
        "ZIP code": choose_zip(rng, state, day, wants_narrative),
        "Company response to consumer": response,
        "_wants_narrative": wants_narrative,
    }


def finish_row(rng: random.Random, row: dict, narrative: str) -> dict:
    """Fill the columns that follow from the date, the response and the narrative."""
    day = row["Date received"]
    response = row["Company response to consumer"]
    # Published narratives only come from the web form.
    via_table = VIA_PRE2017 if day < ERA_2017 else VIA_POST2017
    via = "Web" if narrative else pick(rng, via_table)
    if day < NARRATIVE_START or via != "Web":
        consent = "N/A"
    elif narrative:
        consent = "Consent provided"
    else:
        consent = pick(rng, CONSENT_NO_NARRATIVE)
    if day >= PUBLIC_RESPONSE_START and response != "In progress":
        public = pick(rng, PUBLIC_RESPONSES)
    else:
        public = ""
    if day >= ERA_2017:
        disputed = "N/A"  # the CFPB stopped asking on 2017-04-24
    elif response in ("In progress", "Untimely response"):
        disputed = ""
    else:
        disputed = "Yes" if rng.random() < 0.2 else "No"
    late = response == "Untimely response" or rng.random() < 0.015
    timely = "No" if late else "Yes"
    row.update(
        {
            "Consumer complaint narrative": narrative,
            "Company public response": public,
            "Tags": pick(rng, TAGS),
            "Consumer consent provided?": consent,
            "Submitted via": via,
            "Date sent to company": date_sent(rng, day),
            "Timely response?": timely,
            "Consumer disputed?": disputed,
        }
    )
    del row["_wants_narrative"]
    return row


def dc_row(
    rng: random.Random,
    company: Company,
    day: dt.date,
    label: tuple[str, str, str] | None = None,
    extra_sentences: Sequence[str] = (),
) -> dict:
    """One Debt collection complaint against a company on a day."""
    name = pick(rng, company.spellings)
    issue, sub_issue, topic = label or choose_label(rng, company, day)
    sub_product, kind = choose_sub_product(rng, company, day)
    row = base_row(rng, day, name, company.home_states)
    narrative = ""
    if row["_wants_narrative"]:
        ctx = {
            "co": narrative_ref(rng, company),
            "debt": rng.choice(DEBT_PHRASES[kind]),
            "per_day": rng.choice([4, 5, 6, 7, 8, 8, 9, 10, 12, 15]),
            "year": day.year,
        }
        narrative = dc_narrative(rng, topic, ctx, extra_sentences)
    row.update(
        {
            "Product": "Debt collection",
            "Sub-product": sub_product,
            "Issue": issue,
            "Sub-issue": sub_issue,
        }
    )
    return finish_row(rng, row, narrative)


def dc_rows(rng: random.Random) -> list[dict]:
    rows = []
    for company in COMPANIES:
        days = sample_days(
            rng, company.start, company.end, company.complaints, growth=0.11, quiet=company.quiet
        )
        rows.extend(dc_row(rng, company, day) for day in days)
    return rows


def spike_rows(rng: random.Random) -> list[dict]:
    """The planted one-month burst of repeated-call complaints."""
    company = COMPANY_BY_KEY[SPIKE_COMPANY]
    days = days_between(SPIKE_FIRST_DAY, SPIKE_LAST_DAY)
    rows = []
    for _ in range(SPIKE_ROWS):
        day = rng.choice(days)
        extra = [rng.choice(SPIKE_SENTENCES)] if rng.random() < 0.7 else []
        rows.append(dc_row(rng, company, day, SPIKE_LABEL, extra))
    return rows


def oos_rows(rng: random.Random) -> list[dict]:
    """Other products, so that scope filtering has something to drop."""
    rows = []
    for day in sample_days(rng, FILE_START, END, OOS_ROWS, growth=0.08):
        choices = [
            ((product, sub_product, kind, issue, sub_issue), weight)
            for product, sub_product, kind, issues in OOS_LABELS[era_of(day)]
            for issue, sub_issue, weight in issues
        ]
        product, sub_product, kind, issue, sub_issue = pick(rng, choices)
        company = COMPANY_BY_KEY[pick(rng, OOS_COMPANIES[kind])]
        row = base_row(rng, day, pick(rng, company.spellings), company.home_states)
        narrative = ""
        if row["_wants_narrative"]:
            ctx = {"co": narrative_ref(rng, company), "year": day.year}
            narrative = oos_narrative(rng, kind, ctx)
        row.update(
            {"Product": product, "Sub-product": sub_product, "Issue": issue, "Sub-issue": sub_issue}
        )
        rows.append(finish_row(rng, row, narrative))
    return rows


def assign_complaint_ids(rng: random.Random, rows: list[dict]) -> None:
    """Unique 7-digit IDs that rise with the date received, as real IDs do."""
    ids = sorted(rng.sample(range(1_000_000, 10_000_000), len(rows)))
    keyed = [(row["Date received"], rng.random(), i) for i, row in enumerate(rows)]
    for complaint_id, (_, _, i) in zip(ids, sorted(keyed), strict=True):
        rows[i]["Complaint ID"] = complaint_id


def build_cfpb(rng: random.Random) -> list[dict]:
    rows = dc_rows(rng) + spike_rows(rng) + oos_rows(rng)
    assign_complaint_ids(rng, rows)
    # Newest first, like the bulk export's head.
    rows.sort(key=lambda r: (r["Date received"], r["Complaint ID"]), reverse=True)
    for row in rows:
        row["Date received"] = row["Date received"].isoformat()
        row["Date sent to company"] = row["Date sent to company"].isoformat()
    return rows


# ---------------------------------------------------------------------------------------------
# 黑猫投诉 rows
# ---------------------------------------------------------------------------------------------


def cn_day(rng: random.Random) -> dt.date:
    year = pick(rng, list(CN_YEAR_WEIGHTS.items()))
    first = max(HEIMAO_START, dt.date(year, 1, 1))
    last = min(END, dt.date(year, 12, 31))
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def cn_context(rng: random.Random, day: dt.date, lender_text: str) -> dict:
    """Loan facts that stay consistent within one complaint."""
    amount = rng.randrange(1000, 50001, 500)
    periods = rng.choice([3, 6, 6, 9, 12, 12, 24])
    borrowed = day - dt.timedelta(days=rng.randint(30, 700))
    monthly = amount * (1 + 0.3 * periods / 12) / periods
    return {
        "lender": lender_text,
        "amt": amount,
        "periods": periods,
        "monthly": f"{monthly:.2f}",
        "date": f"{borrowed.year}年{borrowed.month}月{borrowed.day}日",
        "days": rng.randint(3, 120),
        "fee": rng.choice([199, 299, 349, 399, 499, 599]),
        "fee_small": f"{rng.uniform(40, 120):.2f}",
    }


def cn_complaint(
    rng: random.Random, lender: CnLender, is_collection: bool, ctx: dict
) -> tuple[list[str], str, str]:
    """(summary sentences, headline, demands) of one complaint, still in Simplified."""
    if is_collection:
        families = list(CN_COLLECTION_SENTENCES)
        weights = [lender.behaviour.get(f, 1.0) for f in families]
        wanted = rng.randint(2, 3)
        chosen: list[str] = []
        while len(chosen) < wanted:
            family = rng.choices(families, weights=weights, k=1)[0]
            if family not in chosen:
                chosen.append(family)
        parts = [rng.choice(CN_COLLECTION_BACKGROUND)]
        parts += [rng.choice(CN_COLLECTION_SENTENCES[f]) for f in chosen]
        if rng.random() < 0.4:
            parts.append(rng.choice(CN_NEGOTIATION))
        parts.append(rng.choice(CN_COLLECTION_ASKS))
        title = CN_COLLECTION_TITLES[chosen[0]]
        options = rng.sample(CN_COLLECTION_DEMANDS, k=rng.randint(0, 3))
        demands = ",".join(["停止骚扰", *options])
        free_text = CN_COLLECTION_FREE_TEXT
    else:
        names = list(CN_FEE_TOPICS)
        weights = [lender.fees.get(name, 1.0) for name in names]
        topic = CN_FEE_TOPICS[rng.choices(names, weights=weights, k=1)[0]]
        parts = [rng.choice(CN_FEE_BACKGROUND), rng.choice(topic.sentences)]
        if rng.random() < 0.25:
            parts.append(rng.choice(CN_FEE_NEGATIONS))
        parts.append(rng.choice(topic.asks))
        title = topic.title
        demands = ",".join(rng.sample(topic.demands, k=rng.randint(1, min(3, len(topic.demands)))))
        free_text = topic.free_text
    if rng.random() < CN_FREE_TEXT_RATE:
        demands = free_text
    return [fill(p, rng, ctx, {}) for p in parts], title, demands


def cn_row(rng: random.Random, lender: CnLender, day: dt.date) -> dict:
    script = pick(
        rng,
        [("s", 1 - CN_TRAD_RATE - CN_MIXED_RATE), ("t", CN_TRAD_RATE), ("mixed", CN_MIXED_RATE)],
    )
    # Rows written in Traditional mostly spell the lender in Traditional too.
    use_trad_obj = lender.trad_obj and rng.random() < {"s": 0.05, "t": 0.85, "mixed": 0.5}[script]
    obj = lender.trad_obj if use_trad_obj else lender.obj
    short = obj.removesuffix("App")
    is_collection = rng.random() < lender.collection_share
    ctx = cn_context(rng, day, short)
    sentences, headline, demands = cn_complaint(rng, lender, is_collection, ctx)
    # Like the real sample, many titles are just the lender's name.
    title = short if rng.random() < 0.45 else headline.format(short=short)
    if script == "t":
        sentences = [to_traditional(s) for s in sentences]
        title = to_traditional(title)
    elif script == "mixed":
        sentences = [to_traditional(s) if rng.random() < 0.5 else s for s in sentences]
    summary = "".join(sentences)
    # The platform's list view cuts long summaries off with "...".
    cut = rng.randint(95, 140)
    if len(summary) > cut and rng.random() < 0.35:
        summary = summary[:cut] + "..."
    return {"date": day, "title": title, "summary": summary, "object": obj, "demands": demands}


def build_heimao(rng: random.Random) -> list[dict]:
    rows = [
        cn_row(rng, lender, cn_day(rng)) for lender in CN_LENDERS for _ in range(lender.complaints)
    ]
    # Newest first; hrefs carry rising fictional IDs like the platform's.
    rows.sort(key=lambda r: (r["date"], r["summary"]))
    next_id = 17_000_000_000
    for row in rows:
        next_id += rng.randint(1, 40_000)
        row["href"] = f"https://tousu.example/complaint/view/{next_id}/"
        row["date"] = row["date"].isoformat()
    rows.reverse()
    return rows


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """UTF-8, LF line endings, quotes only where needed (as the bulk export does)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    cfpb = build_cfpb(random.Random(SEED_CFPB))
    write_csv(CFPB_OUT, CFPB_HEADER, cfpb)
    heimao = build_heimao(random.Random(SEED_HEIMAO))
    write_csv(HEIMAO_OUT, HEIMAO_HEADER, heimao)
    dc = sum(1 for r in cfpb if r["Product"] == "Debt collection")
    print(f"wrote {CFPB_OUT.name}: {len(cfpb)} rows ({dc} Debt collection)")
    print(f"wrote {HEIMAO_OUT.name}: {len(heimao)} rows")


if __name__ == "__main__":
    main()
