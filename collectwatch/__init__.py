"""collectwatch: public complaint datasets → a static site on debt-collection behaviour."""

__version__ = "0.1.0"
