"""The CSV layouts tests write, defined once: the official export and the older one
without complaint IDs."""

from collectwatch.config import load_config

# The 18 columns of the CFPB's public export, in its order: the first name each column of
# data/sources.yaml lists.
HEADER = [names[0] for names in load_config().sources["cfpb"]["columns"].values()]

# The older 14-column export (2013–2017): no narrative, public response, tags or ID.
NO_ID = [
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "Company",
    "State",
    "ZIP code",
    "Consumer consent provided?",
    "Submitted via",
    "Date sent to company",
    "Company response to consumer",
    "Timely response?",
    "Consumer disputed?",
]
