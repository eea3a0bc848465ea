"""Build the site: ``python build.py --help``."""

import sys

from collectwatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
