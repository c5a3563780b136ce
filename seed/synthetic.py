"""Clearly synthetic planets for load and scale tests; the planets service stores them.

Names look like "Synthetic-00000042 b": no real planet is named so, and numbering continues
after the synthetic planets already stored, so repeated runs never clash. Each orbits the star
of its name, but every third a Kepler star ("Kepler-00000042"), so that a search for "kepler"
finds a third of them, as a survey's name does in a real catalog.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import func, select

from models import Planet, db
from models.planets import DiscoveryMethod, PlanetType

PREFIX = "Synthetic-"
DESCRIPTION = "Synthetic planet for load testing; not a real object."
_TYPES = [t.value for t in PlanetType if t not in (PlanetType.ICE_GIANT, PlanetType.DWARF)]
_METHODS = [m.value for m in DiscoveryMethod if m is not DiscoveryMethod.OBSERVATION]


def next_number() -> int:
    """The number of the next synthetic planet."""
    last = db.session.scalar(
        select(func.max(Planet.name)).where(Planet.name.like(f"{PREFIX}%"))
    )
    return int(last[len(PREFIX) : len(PREFIX) + 8]) + 1 if last else 1


COLUMNS = ("name", "planet_type", "host_star", "discovery_year", "discovery_method",
           "mass_earth", "radius_earth", "orbital_period_days", "semi_major_axis_au",
           "distance_ly", "equilibrium_temp_k", "description", "source", "created_at",
           "updated_at")


def synthetic_rows(first: int, count: int, now: object, seed: int = 1992) -> Iterator[tuple]:
    """Rows (in COLUMNS order) with plausible values inside every range of the planet schema."""
    rnd = random.Random(seed + first).random  # noqa: S311 - test data, not secrets
    years = datetime.now(UTC).year - 1992 + 1
    types, methods = _TYPES, _METHODS
    for number in range(first, first + count):
        name = f"{PREFIX}{number:08d}"
        yield (
            f"{name} b",
            types[int(rnd() * len(types))],
            name if number % 3 else f"Kepler-{number:08d}",
            1992 + int(rnd() * years),
            methods[int(rnd() * len(methods))],
            round(0.1 + rnd() * 4000, 3),
            round(0.3 + rnd() * 25, 3),
            round(0.2 + rnd() * 100_000, 3),
            round(0.005 + rnd() * 300, 4),
            round(4 + rnd() * 30_000, 2),
            round(30 + rnd() * 4000, 1),
            DESCRIPTION,
            "synthetic",
            now,
            now,
        )
