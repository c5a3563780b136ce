"""The real planets catalog (planets.csv, sources in README.md) and synthetic test planets."""

import csv
from pathlib import Path

CATALOG_FILE = Path(__file__).with_name("planets.csv")


def catalog_size() -> int:
    """How many planets the real catalog holds."""
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return sum(1 for _ in csv.DictReader(stream))
