"""Write a CFPB-shaped bulk CSV of any size, fast and deterministically, for benchmarks.

    python benchmarks/generate.py --rows 2000000 --out benchmarks/data/cfpb_2000000.csv

The file looks like the bulk ``complaints.csv`` export: the official 18 headers, ISO dates
from 2011-12-01 to 2026-11-20 (volume growing over the years), quotes only where a field
needs them, LF line endings and unique Complaint IDs in no particular order. About 20% of
rows are Debt collection, labelled with the issue and sub-issue wording of their era (the
original labels before 2017-04-24, the revised ones until 2023-08-24, then the set with
electronic communications). About 30% of rows carry a narrative of 100-2,000 characters,
written CFPB-style: XXXX redactions, {$amounts}, commas, quotes and embedded newlines.
Companies (about 5,000 by default) get Zipf-like volumes.

Everything is vectorised with numpy and pyarrow: each column is a ``take`` from a small list
of values, narratives are joined from a bank of sentences, and each chunk of rows is written
straight from an Arrow string buffer. 2 M rows take well under a minute. The same seed, row
count and options always give the same bytes.

The label strings are exact CFPB wordings: the Debt collection (issue, sub-issue) pairs and
their volumes come from the Debt collection rows of the real samples in
``../shared/data/real/cfpb/``; those samples end before 2023-08-24, so the labels introduced
then are the ones listed in ``data/taxonomy.yaml``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectwatch.config import load_config

# The bulk export's 18 columns, in its order: the first name each column of
# data/sources.yaml lists.
HEADER = [names[0] for names in load_config().sources["cfpb"]["columns"].values()]

FIRST_DAY = date(2011, 12, 1)
LAST_DAY = date(2026, 11, 20)
ERA_2017 = date(2017, 4, 24)
ERA_2023 = date(2023, 8, 24)
NARRATIVES_FROM = date(2015, 3, 19)  # the CFPB published no narratives before this
CHUNK_ROWS = 250_000  # part of the seed contract: rows are drawn chunk by chunk
DC = "Debt collection"

# --- Debt collection labels per era: (issue, sub-issue, weight) ---------------------------
# Weights are the row counts in the real samples (rounded up to at least 2 for rare ones).
DC_LABELS = {
    "pre-2017": [
        ("Cont'd attempts collect debt not owed", "Debt is not mine", 855),
        ("Cont'd attempts collect debt not owed", "Debt was paid", 391),
        ("Cont'd attempts collect debt not owed", "Debt resulted from identity theft", 104),
        ("Cont'd attempts collect debt not owed", "Debt was discharged in bankruptcy", 53),
        ("Communication tactics", "Frequent or repeated calls", 353),
        ("Communication tactics", "Threatened to take legal action", 106),
        ("Communication tactics", "Used obscene/profane/abusive language", 43),
        ("Communication tactics", "Called after sent written cease of comm", 31),
        ("Communication tactics", "Called outside of 8am-9pm", 24),
        ("Disclosure verification of debt", "Not given enough info to verify debt", 356),
        ("Disclosure verification of debt", "Right to dispute notice not received", 175),
        ("Disclosure verification of debt", "Not disclosed as an attempt to collect", 36),
        ("False statements or representation", "Attempted to collect wrong amount", 190),
        ("False statements or representation", "Impersonated an attorney or official", 31),
        ("False statements or representation", "Indicated committed crime not paying", 24),
        ("False statements or representation", "Indicated shouldn't respond to lawsuit", 9),
        ("Improper contact or sharing of info", "Talked to a third party about my debt", 100),
        ("Improper contact or sharing of info", "Contacted me after I asked not to", 68),
        ("Improper contact or sharing of info", "Contacted employer after asked not to", 55),
        ("Improper contact or sharing of info", "Contacted me instead of my attorney", 6),
        ("Taking/threatening an illegal action", "Threatened to sue on too old debt", 69),
        ("Taking/threatening an illegal action", "Threatened arrest/jail if do not pay", 51),
        ("Taking/threatening an illegal action", "Sued w/o proper notification of suit", 18),
        ("Taking/threatening an illegal action", "Attempted to/Collected exempt funds", 17),
        ("Taking/threatening an illegal action", "Seized/Attempted to seize property", 14),
        ("Taking/threatening an illegal action", "Sued where didn't live/sign for debt", 11),
    ],
    "2017": [
        ("Attempts to collect debt not owed", "Debt is not yours", 400),
        ("Attempts to collect debt not owed", "Debt was result of identity theft", 217),
        ("Attempts to collect debt not owed", "Debt was paid", 134),
        (
            "Attempts to collect debt not owed",
            "Debt was already discharged in bankruptcy and is no longer owed",
            27,
        ),
        (
            "Written notification about debt",
            "Didn't receive enough information to verify debt",
            237,
        ),
        ("Written notification about debt", "Didn't receive notice of right to dispute", 85),
        (
            "Written notification about debt",
            "Notification didn't disclose it was an attempt to collect a debt",
            12,
        ),
        ("Communication tactics", "Frequent or repeated calls", 81),
        ("Communication tactics", "You told them to stop contacting you, but they keep trying", 43),
        ("Communication tactics", "Called before 8am or after 9pm", 7),
        ("Communication tactics", "Used obscene, profane, or other abusive language", 7),
        ("False statements or representation", "Attempted to collect wrong amount", 87),
        (
            "False statements or representation",
            "Impersonated attorney, law enforcement, or government official",
            6,
        ),
        (
            "False statements or representation",
            "Indicated you were committing crime by not paying debt",
            5,
        ),
        (
            "False statements or representation",
            "Told you not to respond to a lawsuit they filed against you",
            4,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Threatened or suggested your credit would be damaged",
            55,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Threatened to sue you for very old debt",
            29,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Sued you without properly notifying you of lawsuit",
            19,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Threatened to arrest you or take you to jail if you do not pay",
            11,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Collected or attempted to collect exempt funds",
            10,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Seized or attempted to seize your property",
            10,
        ),
        (
            "Took or threatened to take negative or legal action",
            "Sued you in a state where you do not live or did not sign for the debt",
            4,
        ),
        (
            "Threatened to contact someone or share information improperly",
            "Contacted your employer",
            11,
        ),
        (
            "Threatened to contact someone or share information improperly",
            "Talked to a third-party about your debt",
            9,
        ),
        (
            "Threatened to contact someone or share information improperly",
            "Contacted you after you asked them to stop",
            3,
        ),
    ],
}
# From 2023-08-24: the 2017 wording, except that calls became contacts and electronic
# messages got their own issue.
_REPLACED_2023 = {
    ("Communication tactics", "Frequent or repeated calls"),
    ("Communication tactics", "Called before 8am or after 9pm"),
}
DC_LABELS["2023"] = [lab for lab in DC_LABELS["2017"] if lab[:2] not in _REPLACED_2023] + [
    ("Communication tactics", "Frequent or repeated messages", 60),
    ("Communication tactics", "Contacted before 8am or after 9pm", 5),
    ("Electronic communications", "Frequent or repeated messages", 25),
    ("Electronic communications", "You told them to stop contacting you, but they keep trying", 12),
    ("Electronic communications", "Contacted before 8am or after 9pm", 3),
    ("Electronic communications", "Used obscene, profane, or other abusive language", 3),
]
OLD_LABEL_SHARE = 0.01  # a few post-2017 rows keep an old wording, as in the real export

DC_SUB_PRODUCTS = {
    "pre-2017": [
        ("Other (phone, health club, etc.)", 666),
        ("Credit card", 614),
        ("Medical", 443),
        ("Other (i.e. phone, health club, etc.)", 354),
        ("I do not know", 218),
        ("Payday loan", 150),
        ("Mortgage", 92),
        ("Auto", 71),
        ("Non-federal student loan", 59),
        ("Federal student loan", 54),
        ("", 469),
    ],
    "2017": [
        ("Other debt", 409),
        ("I do not know", 375),
        ("Credit card debt", 334),
        ("Medical debt", 236),
        ("Auto debt", 53),
        ("Private student loan debt", 32),
        ("Payday loan debt", 28),
        ("Federal student loan debt", 23),
        ("Mortgage debt", 23),
    ],
}
DC_SUB_PRODUCTS["2023"] = DC_SUB_PRODUCTS["2017"]

# --- Other products per era: (product, weight, sub-products, (issue, sub-issue) pairs) -----
OTHER_PRODUCTS = {
    "pre-2017": [
        (
            "Mortgage",
            40,
            ["Conventional fixed mortgage", "Other mortgage", "FHA mortgage"],
            [
                ("Loan modification,collection,foreclosure", ""),
                ("Loan servicing, payments, escrow account", ""),
                ("Application, originator, mortgage broker", ""),
            ],
        ),
        (
            "Credit reporting",
            27,
            [""],
            [
                ("Incorrect information on credit report", "Account status"),
                ("Incorrect information on credit report", "Information is not mine"),
                (
                    "Unable to get credit report/credit score",
                    "Problem getting my free annual report",
                ),
            ],
        ),
        (
            "Bank account or service",
            15,
            ["Checking account", "Other bank product/service", "Savings account"],
            [
                ("Account opening, closing, or management", ""),
                ("Deposits and withdrawals", ""),
                ("Problems caused by my funds being low", ""),
            ],
        ),
        (
            "Credit card",
            14,
            [""],
            [("Billing disputes", ""), ("Identity theft / Fraud / Embezzlement", "")],
        ),
        (
            "Consumer Loan",
            4,
            ["Vehicle loan", "Installment loan"],
            [("Managing the loan or lease", ""), ("Problems when you are unable to pay", "")],
        ),
        (
            "Consumer loan",
            2,
            ["Vehicle loan", "Vehicle lease"],
            [("Managing the loan or lease", ""), ("Taking out the loan or lease", "")],
        ),
        (
            "Student loan",
            4,
            ["Non-federal student loan", "Federal student loan"],
            [("Dealing with my lender or servicer", ""), ("Can't repay my loan", "")],
        ),
        (
            "Payday loan",
            1,
            ["Payday loan"],
            [("Charged fees or interest I didn't expect", ""), ("Can't contact lender", "")],
        ),
        (
            "Money transfers",
            1,
            ["Domestic (US) money transfer", "International money transfer"],
            [("Fraud or scam", ""), ("Other transaction issues", "")],
        ),
        (
            "Prepaid card",
            1,
            ["General purpose card"],
            [("Unauthorized transactions/trans. issues", "")],
        ),
        ("Other financial service", 1, ["Check cashing"], [("Fraud or scam", "")]),
    ],
    "2017": [
        (
            "Credit reporting, credit repair services, or other personal consumer reports",
            60,
            ["Credit reporting", "Other personal consumer report", "Credit repair services"],
            [
                ("Incorrect information on your report", "Information belongs to someone else"),
                (
                    "Problem with a credit reporting company's investigation into an existing "
                    "problem",
                    "Their investigation did not fix an error on your report",
                ),
                ("Improper use of your report", "Reporting company used your report improperly"),
                (
                    "Improper use of your report",
                    "Credit inquiries on your report that you don't recognize",
                ),
            ],
        ),
        (
            "Checking or savings account",
            6,
            ["Checking account", "Other banking product or service", "Savings account"],
            [
                ("Managing an account", "Deposits and withdrawals"),
                ("Managing an account", "Problem using a debit or ATM card"),
                (
                    "Problem with a lender or other company charging your account",
                    "Transaction was not authorized",
                ),
            ],
        ),
        (
            "Credit card or prepaid card",
            7,
            ["General-purpose credit card or charge card", "Store credit card"],
            [
                (
                    "Problem with a purchase shown on your statement",
                    "Credit card company isn't resolving a dispute about a purchase on your "
                    "statement",
                ),
                ("Fees or interest", "Problem with fees"),
            ],
        ),
        (
            "Mortgage",
            6,
            ["Conventional home mortgage", "FHA mortgage", "VA mortgage"],
            [
                ("Trouble during payment process", ""),
                ("Struggling to pay mortgage", ""),
                ("Applying for a mortgage or refinancing an existing mortgage", ""),
            ],
        ),
        (
            "Payday loan, title loan, or personal loan",
            3,
            ["Installment loan", "Personal line of credit", "Payday loan"],
            [
                ("Charged fees or interest you didn't expect", ""),
                ("Struggling to pay your loan", ""),
            ],
        ),
        (
            "Student loan",
            2,
            ["Federal student loan servicing", "Private student loan"],
            [
                (
                    "Dealing with your lender or servicer",
                    "Trouble with how payments are being handled",
                )
            ],
        ),
        (
            "Vehicle loan or lease",
            2,
            ["Loan", "Lease"],
            [
                ("Managing the loan or lease", "Billing problem"),
                ("Getting a loan or lease", "Fraudulent loan"),
            ],
        ),
        (
            "Money transfer, virtual currency, or money service",
            2,
            ["Mobile or digital wallet", "Domestic (US) money transfer"],
            [("Fraud or scam", ""), ("Other transaction problem", "")],
        ),
    ],
    "2023": [
        (
            "Credit reporting or other personal consumer reports",
            75,
            ["Credit reporting", "Other personal consumer report"],
            [
                ("Incorrect information on your report", "Information belongs to someone else"),
                ("Improper use of your report", "Reporting company used your report improperly"),
                (
                    "Problem with a company's investigation into an existing problem",
                    "Their investigation did not fix an error on your report",
                ),
            ],
        ),
        (
            "Checking or savings account",
            5,
            ["Checking account", "Savings account"],
            [("Managing an account", "Deposits and withdrawals")],
        ),
        (
            "Credit card",
            5,
            ["General-purpose credit card or charge card", "Store credit card"],
            [
                (
                    "Problem with a purchase shown on your statement",
                    "Card was charged for something you did not purchase with the card",
                )
            ],
        ),
        (
            "Mortgage",
            3,
            ["Conventional home mortgage", "FHA mortgage"],
            [("Trouble during payment process", "")],
        ),
        (
            "Payday loan, title loan, personal loan, or advance loan",
            1,
            ["Payday loan", "Installment loan"],
            [("Struggling to pay your loan", ""), ("Received a loan you didn't apply for", "")],
        ),
        ("Debt or credit management", 1, ["Debt settlement"], [("Fees or interest", "")]),
        ("Vehicle loan or lease", 2, ["Loan"], [("Managing the loan or lease", "Billing problem")]),
    ],
}

STATES = (
    "CA 3607 FL 3090 TX 2856 NY 1920 GA 1742 PA 1194 IL 1108 NJ 1001 NC 885 VA 849 OH 803 "
    "MD 779 MI 685 AZ 585 TN 525 SC 493 WA 482 LA 470 AL 461 CO 451 MO 446 NV 435 MA 412 "
    "CT 334 IN 317 OR 278 WI 272 MN 260 OK 199 KY 193 MS 186 UT 169 DE 162 AR 134 DC 131 "
    "KS 129 NM 123 IA 95 NH 94 NE 90 ID 83 HI 72 PR 72 ME 68 RI 62 WV 48 MT 38 AK 32 VT 31 "
    "SD 28 WY 27 ND 22 AE 9 AP 8 VI 6 GU 2 - 458"
)
PUBLIC_RESPONSES = [
    ("", 600),
    (
        "Company has responded to the consumer and the CFPB and chooses not to provide a public "
        "response",
        300,
    ),
    ("Company believes it acted appropriately as authorized by contract or law", 40),
    ("Company disputes the facts presented in the complaint", 5),
    ("Company believes the complaint is the result of a misunderstanding", 3),
    ("Company can't verify or dispute the facts in the complaint", 2),
]
TAGS = [
    ("", 870),
    ("Servicemember", 75),
    ("Older American", 43),
    ("Older American, Servicemember", 12),
]
SUBMITTED_VIA = [
    ("Web", 830),
    ("Referral", 90),
    ("Phone", 50),
    ("Postal mail", 25),
    ("Fax", 4),
    ("Email", 1),
]
RESPONSES = {
    "pre-2017": [
        ("Closed with explanation", 75),
        ("Closed with non-monetary relief", 12),
        ("Closed with monetary relief", 6),
        ("Closed", 3),
        ("Untimely response", 1),
        ("Closed without relief", 1),
    ],
    "2017": [
        ("Closed with explanation", 80),
        ("Closed with non-monetary relief", 14),
        ("Closed with monetary relief", 4),
        ("In progress", 1),
        ("Untimely response", 1),
    ],
    "2023": [
        ("Closed with explanation", 70),
        ("Closed with non-monetary relief", 12),
        ("In progress", 15),
        ("Closed with monetary relief", 2),
        ("Untimely response", 1),
    ],
}
CONSENT_WITHOUT_NARRATIVE = [
    ("Consent not provided", 45),
    ("", 20),
    ("Other", 15),
    ("N/A", 19),
    ("Consent withdrawn", 1),
]

# --- Narratives: a bank of sentences in the CFPB's redacted style ------------------------
SENTENCES = [
    "On XX/XX/XXXX I received a letter from XXXX stating that I owe {$1500.00} on an account.",
    "I have never had an account with this company and I do not recognize this debt.",
    "This is not my debt, and I have asked them several times to send proof that it is.",
    "They call me 5 or 6 times a day, every day, including weekends.",
    "The collector called my phone constantly, sometimes before 8am and after 9pm.",
    'The representative told me "if you don\'t pay today we will take you to court".',
    "I was told that I could be arrested if I did not pay the balance immediately.",
    "They threatened to sue me for a debt from XXXX, which is past the statute of limitations.",
    "They called my employer, XXXX, and told my supervisor about the debt.",
    "A man who said he was an attorney called my mother and my sister about my account.",
    "I sent a cease and desist letter by certified mail on XX/XX/XXXX, but the calls continue.",
    "I asked them to stop calling me, and they said they would keep calling until I pay.",
    "The agent used profanity and called me names when I said I could not pay.",
    "I paid this account in full in XXXX and I have the receipt, yet they still say I owe it.",
    "This debt was discharged in my Chapter 7 bankruptcy on XX/XX/XXXX.",
    "I am a victim of identity theft; I filed a police report and an FTC report.",
    "They never sent me a validation notice, and I disputed the debt in writing within 30 days.",
    "The amount they are asking for, {$2400.00}, is far more than the original balance.",
    "They reported the account to the credit bureaus without telling me first.",
    "They threatened to ruin my credit if I did not make a payment over the phone.",
    "I received text messages and emails from them several times a day.",
    'The letter said "This is an attempt to collect a debt" but not who the creditor is.',
    "They garnished my wages, even though I was never served with a lawsuit.",
    "They took money from my bank account that comes from my Social Security benefits.",
    "I told them to contact my attorney, XXXX XXXX, but they keep calling me directly.",
    "The caller said he was from the sheriff's office and that a warrant was being prepared.",
    "My credit report shows this collection account, which is hurting my score.",
    "I have been a customer of XXXX for years, and I always paid on time.",
    "I called them on XX/XX/XXXX, XX/XX/XXXX and XX/XX/XXXX, and each time I was put on hold.",
    "They said they would settle for {$600.00}, but then they sent a letter for the full amount.",
    "Please help me resolve this, because I do not know what else to do.",
    "I am on a fixed income, and this has caused me a great deal of stress.",
    "The original creditor, XXXX Bank, sold the account to XXXX, who sold it again.",
    "I requested a copy of the signed contract, and they said they do not have one.",
    "They keep calling my cell phone with a robocall that hangs up when I answer.",
    "I feel harassed; this has gone on for months.",
    "I am requesting that this item be removed from my credit report immediately.",
    "The debt is from a medical bill that my insurance, XXXX, should have paid.",
    "They told my neighbor that I owe money, which is an invasion of my privacy.",
    "When I asked for their mailing address, the agent hung up on me.",
    "I want this company to stop contacting me and to correct the information they report.",
    "The account number on the letter ends in XXXX, which does not match any of my accounts.",
    "According to the FDCPA, they must validate the debt before they continue collection.",
    "My wife answered the phone, and they discussed my account with her without my consent.",
    "They said I would lose my job and my car if I did not pay by Friday.",
    'I wrote "refused" on the letter and sent it back, but nothing changed.',
    "I have attached the letters, the receipts and my dispute, dated XX/XX/XXXX.",
    "The balance keeps growing with fees and interest that were never in my agreement.",
    "I never received any bill, statement or notice before they contacted me.",
    "They contacted me at work even after I told them I cannot take calls there.",
]
SEPARATORS = [" ", " ", " ", "\n", "\n\n"]
CLAUSE_ENDS = [". ", ". ", ", ", ".\n", "... "]
FILLER = " I am asking the CFPB to look into this company and make them stop."

WORDS_A = (
    "Acme Allied Apex Arbor Atlas Aurora Beacon Birch Bluestone Bridge Cardinal Cascade Cedar "
    "Central Citadel Clearwater Coastal Colonial Compass Crest Crown Delta Eagle Eastern Ember "
    "Empire Evergreen Falcon First Frontier Garnet Gateway Glacier Granite Harbor Heritage "
    "Highland Horizon Ironwood Jasper Keystone Lakeside Landmark Legacy Liberty Lighthouse "
    "Linden Magnolia Maple Meridian Midwest Monarch Mountain National Northern Oak Orchard "
    "Pacific Paragon Patriot Peak Pinnacle Pioneer Prairie Premier Prime Quartz Redwood Regal "
    "Ridge River Royal Sable Sentinel Sierra Silver Southern Sterling Summit Sunrise Tandem "
    "Titan Trinity Unity Valley Vanguard Vector Victory Vista Western Willow Zenith"
)
WORDS_B = (
    "Acceptance Account Adjustment Asset Associates Bureau Capital Cash Claims Collections "
    "Consumer Credit Debt Finance Financial Funding Holdings Investments Lending Loans Management "
    "Mutual Partners Payment Portfolio Receivables Recovery Resolution Resources Revenue Savings "
    "Servicing Solutions Systems Trust Advisors Alliance Benefit Billing Checkpoint "
    "Clearing Commerce Equity Exchange Federal Fidelity Lenders Merchants Money Mortgage Network "
    "Outsourcing Processing Remedies Reserve Retrieval Security Settlement Strategies Transfer"
)
SUFFIXES = ["Inc.", "LLC", ", Inc.", "LLC.", "Corp", "Co.", "L.P.", "Group", "", "", "", "Ltd"]


def company_names(n: int) -> list[str]:
    """``n`` distinct fictional company names (distinct even after suffix/case folding)."""
    pairs = [(a, b) for b in WORDS_B.split() for a in WORDS_A.split()]
    if n > len(pairs):
        raise SystemExit(f"--companies: at most {len(pairs)}")
    rng = np.random.default_rng(12345)  # names fixed; volumes come from the seed
    order = rng.permutation(len(pairs))[:n]
    names = []
    for i, k in enumerate(order):
        a, b = pairs[k]
        suffix = SUFFIXES[i % len(SUFFIXES)]
        name = f"{a} {b}" + ("" if not suffix else suffix if suffix[0] == "," else f" {suffix}")
        names.append(name.upper() if i % 3 == 0 else name)  # CFPB mixes SHOUTING and Title case
    return names


def _pairs(text: str) -> list[tuple[str, str]]:
    words = text.split()
    return list(zip(words[::2], words[1::2], strict=True))


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_array(values: pa.Array) -> pa.Array:
    """Arrow strings → CSV cells, quoted only where needed (as the bulk export does)."""
    needs = pc.match_substring_regex(values, r'[,"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


class Choice:
    """Weighted choice from fixed labels, returning CSV-ready Arrow strings."""

    def __init__(self, items: list[tuple[str, float]], *, quote: bool = True):
        cell = _csv_cell if quote else str
        self.labels = pa.array([cell(v) for v, _ in items], pa.string())
        w = np.array([w for _, w in items], dtype=float)
        self.p = w / w.sum()

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.p), size=n, p=self.p)

    def take(self, idx: np.ndarray) -> pa.Array:
        return self.labels.take(pa.array(idx))


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _era_of(days: np.ndarray) -> np.ndarray:
    """0 = pre-2017, 1 = 2017, 2 = 2023 labels."""
    return (days >= _day(ERA_2017)).astype(np.int8) + (days >= _day(ERA_2023))


class Generator:
    def __init__(
        self,
        rows: int,
        seed: int,
        companies: int,
        dc_share: float,
        narr_share: float,
        zipf: float = 1.1,
    ):
        self.rows, self.seed = rows, seed
        self.dc_share, self.narr_share = dc_share, narr_share
        g = np.random.default_rng([seed, 0])
        self.ids = 1_000_000 + g.permutation(rows).astype(np.int64) * 3 + g.integers(0, 3, rows)

        # Dates: complaint volume grows about twelvefold from 2011 to 2026.
        first, last = _day(FIRST_DAY), _day(LAST_DAY)
        self.first_day = first
        span = last - first + 1
        w = np.exp(np.log(12) * np.arange(span) / span)
        self.day_p = w / w.sum()
        post = self.day_p[np.arange(span) + first >= _day(NARRATIVES_FROM)].sum()
        self.narr_p = min(1.0, narr_share / post)

        names = company_names(companies)
        weights = 1.0 / np.arange(1, companies + 1) ** zipf
        self.company_p = weights / weights.sum()
        self.company_labels = pa.array([_csv_cell(c) for c in names], pa.string())
        # Collectors and banks lead different products: two rankings of the same names.
        self.rank_dc = g.permutation(companies)
        self.rank_other = g.permutation(companies)

        eras = ("pre-2017", "2017", "2023")
        self.dc_labels = [
            Choice([(f"{i}\x00{s}", w) for i, s, w in DC_LABELS[e]], quote=False) for e in eras
        ]
        self.dc_sub = [Choice(DC_SUB_PRODUCTS[e]) for e in eras]
        self.other = []
        for e in eras:
            combos = []
            for product, weight, subs, issues in OTHER_PRODUCTS[e]:
                for sp in subs:
                    for i, s in issues:
                        combos.append(
                            (f"{product}\x00{sp}\x00{i}\x00{s}", weight / len(subs) / len(issues))
                        )
            self.other.append(Choice(combos, quote=False))
        self.responses = [Choice(RESPONSES[e]) for e in eras]
        self.states = Choice([("" if s == "-" else s, int(n)) for s, n in _pairs(STATES)])
        self.public = Choice(PUBLIC_RESPONSES)
        self.tags = Choice(TAGS)
        self.via = Choice(SUBMITTED_VIA)
        self.consent_no = Choice(CONSENT_WITHOUT_NARRATIVE)
        self.sentences = pa.array([s + sep for s in SENTENCES for sep in SEPARATORS], pa.string())
        vocabulary = sorted({w.lower() for w in re.findall(r"[A-Za-z']+", " ".join(SENTENCES))})
        vocabulary += ["XXXX"] * 30 + [str(i) for i in range(0, 100, 3)]
        self.words = pa.array([w + " " for w in vocabulary], pa.string())
        self.clause_ends = pa.array([*CLAUSE_ENDS, ""], pa.string())

    def chunks(self):
        for k, start in enumerate(range(0, self.rows, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, self.rows - start)
            yield self.chunk(np.random.default_rng([self.seed, 1, k]), self.ids[start : start + n])

    def _labels(self, rng, eras, choices, n) -> pa.Array:
        idx = np.zeros(n, dtype=np.int64)
        offset = 0
        parts = []
        for e, choice in enumerate(choices):
            mask = eras == e
            idx[mask] = choice.draw(rng, int(mask.sum())) + offset
            offset += len(choice.labels)
            parts.append(choice.labels)
        return pa.concat_arrays(parts).take(pa.array(idx))

    def _split(self, joined: pa.Array, parts: int) -> list[pa.Array]:
        """Labels drawn as "a\\x00b" → separate, CSV-quoted columns."""
        pieces = pc.split_pattern(joined, "\x00")
        return [_csv_array(pc.list_element(pieces, i)) for i in range(parts)]

    def narratives(self, rng, n: int) -> pa.Array:
        """``n`` narratives of 100-2,000 characters, as CSV cells (quoted where needed).

        Each slot holds a sentence from the bank or, as often, a clause of random words,
        so that no two narratives are alike and they compress about as well as real text.
        """
        # Lengths roughly log-normal around 650 characters; a slot averages ~70.
        target = np.clip(rng.lognormal(np.log(650), 0.75, n), 100, 2000)
        slots = np.clip(np.rint(target / 70), 2, 30).astype(np.int64)
        sentences = pa.concat_arrays([self.sentences, pa.array([""], pa.string())])
        words = pa.concat_arrays([self.words, pa.array([""], pa.string())])
        cols = []
        for j in range(int(slots.max())):
            pick = rng.integers(0, len(self.sentences), n)
            clause = rng.random(n) < 0.45
            pick[clause | (slots <= j)] = len(self.sentences)
            cols.append(sentences.take(pa.array(pick)))
            size = np.where(clause & (slots > j), rng.integers(3, 10, n), 0)
            for k in range(9):
                pick = rng.integers(0, len(self.words), n)
                pick[size <= k] = len(self.words)
                cols.append(words.take(pa.array(pick)))
            end = np.where(size > 0, rng.integers(0, len(CLAUSE_ENDS), n), len(CLAUSE_ENDS))
            cols.append(self.clause_ends.take(pa.array(end)))
        text = pc.utf8_rtrim_whitespace(pc.binary_join_element_wise(*cols, ""))
        short = pc.less(pc.utf8_length(text), 100)
        text = pc.if_else(short, pc.binary_join_element_wise(text, FILLER, FILLER, ""), text)
        text = pc.utf8_rtrim_whitespace(pc.utf8_slice_codeunits(text, 0, 2000))
        return _csv_array(text)

    def chunk(self, rng: np.random.Generator, ids: np.ndarray) -> pa.Array:
        n = len(ids)
        days = rng.choice(len(self.day_p), size=n, p=self.day_p) + self.first_day
        eras = _era_of(days)
        is_dc = rng.random(n) < self.dc_share

        # Products and labels: Debt collection rows by era, others from the era's products.
        dc_lab = self._labels(rng, eras, self.dc_labels, n)
        old = is_dc & (eras > 0) & (rng.random(n) < OLD_LABEL_SHARE)
        if old.any():
            dc_lab = pc.if_else(
                pa.array(old), self._labels(rng, np.zeros(n, np.int8), self.dc_labels, n), dc_lab
            )
        issue, sub_issue = self._split(dc_lab, 2)
        dc_sub = self._labels(rng, eras, self.dc_sub, n)
        o_product, o_sub, o_issue, o_sub_issue = self._split(
            self._labels(rng, eras, self.other, n), 4
        )
        dc_mask = pa.array(is_dc)
        product = pc.if_else(dc_mask, DC, o_product)
        sub_product = pc.if_else(dc_mask, dc_sub, o_sub)
        issue = pc.if_else(dc_mask, issue, o_issue)
        sub_issue = pc.if_else(dc_mask, sub_issue, o_sub_issue)

        ranks = rng.choice(len(self.company_p), size=n, p=self.company_p)
        company = self.company_labels.take(
            pa.array(np.where(is_dc, self.rank_dc[ranks], self.rank_other[ranks]))
        )

        has_narr = (days >= _day(NARRATIVES_FROM)) & (rng.random(n) < self.narr_p)
        narr_idx = np.flatnonzero(has_narr)
        narrative = pa.array(np.full(n, "", dtype=object), pa.string())
        if len(narr_idx):
            texts = self.narratives(rng, len(narr_idx))
            slot = np.full(n, len(texts), dtype=np.int64)
            slot[narr_idx] = np.arange(len(narr_idx))
            narrative = pa.concat_arrays([texts, pa.array([""], pa.string())]).take(pa.array(slot))
        consent = pc.if_else(
            pa.array(has_narr),
            "Consent provided",
            self.consent_no.take(self.consent_no.draw(rng, n)),
        )
        consent = pc.if_else(
            pa.array(days < _day(NARRATIVES_FROM)),
            pc.if_else(pa.array(rng.random(n) < 0.5), "N/A", ""),
            consent,
        )

        # ZIP: 5 digits, masked "123XX", or empty.
        zips = pc.utf8_lpad(pa.array(rng.integers(501, 99951, n)).cast(pa.string()), 5, "0")
        r = rng.random(n)
        zips = pc.if_else(
            pa.array(r < 0.3),
            pc.binary_join_element_wise(pc.utf8_slice_codeunits(zips, 0, 3), "XX", ""),
            zips,
        )
        zips = pc.if_else(pa.array(r > 0.97), "", zips)

        received = pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()).cast(pa.string())
        lag = np.where(rng.random(n) < 0.8, 0, rng.integers(1, 15, n))
        sent = (
            pa.array((days + lag).astype(np.int32), pa.int32()).cast(pa.date32()).cast(pa.string())
        )
        response = self._labels(rng, eras, self.responses, n)
        timely = pa.array(np.where(rng.random(n) < 0.97, "Yes", "No"), pa.string())
        disputed_old = np.where(
            rng.random(n) < 0.55, "", np.where(rng.random(n) < 0.66, "No", "Yes")
        )
        disputed = pa.array(np.where(eras == 0, disputed_old, "N/A"), pa.string())

        cols = [
            received,
            product,
            sub_product,
            issue,
            sub_issue,
            narrative,
            self.public.take(self.public.draw(rng, n)),
            company,
            self.states.take(self.states.draw(rng, n)),
            zips,
            self.tags.take(self.tags.draw(rng, n)),
            consent,
            self.via.take(self.via.draw(rng, n)),
            sent,
            response,
            timely,
            disputed,
            pa.array(ids).cast(pa.string()),
        ]
        line = pc.binary_join_element_wise(*cols, ",")
        return pc.binary_join_element_wise(line, "\n", "")


def write(
    path: Path,
    rows: int,
    *,
    seed: int = 1,
    companies: int = 5000,
    dc_share: float = 0.2,
    narratives: float = 0.3,
    zipf: float = 1.1,
) -> dict:
    """Write the file (atomically) and return a description of it."""
    gen = Generator(rows, seed, companies, dc_share, narratives, zipf)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write((",".join(HEADER) + "\n").encode())
        for lines in gen.chunks():
            lines = lines.cast(pa.large_string())
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
            lo, hi = offsets[lines.offset], offsets[lines.offset + len(lines)]
            fh.write(memoryview(lines.buffers()[2])[lo:hi])
    tmp.replace(path)
    return {
        "rows": rows,
        "seed": seed,
        "companies": companies,
        "dc_share": dc_share,
        "narratives": narratives,
        "zipf": zipf,
        "bytes": path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--companies", type=int, default=5000, help="distinct companies (default 5000)")
    p.add_argument("--dc-share", type=float, default=0.2, help="share of Debt collection rows")
    p.add_argument("--narratives", type=float, default=0.3, help="share of rows with a narrative")
    p.add_argument(
        "--zipf",
        type=float,
        default=1.1,
        help="exponent of the company volumes: the k-th company gets ∝ 1/k^zipf (default 1.1)",
    )
    args = p.parse_args(argv)
    if args.rows < 1:
        p.error("--rows must be at least 1")
    started = time.perf_counter()
    info = write(
        args.out,
        args.rows,
        seed=args.seed,
        companies=args.companies,
        dc_share=args.dc_share,
        narratives=args.narratives,
        zipf=args.zipf,
    )
    print(
        f"wrote {args.out}: {info['rows']:,} rows, {info['bytes'] / 2**20:,.1f} MiB "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
