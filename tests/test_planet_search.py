"""Prefix search on name and host star: exact results, served by an index on both databases."""

import pytest
from sqlalchemy import select, text

from models import Planet, db


@pytest.fixture
def catalog(make_planet):
    for name, star in [("Kepler-22 b", "Kepler-22"), ("kepler-90 h", "Kepler-90"),
                       ("Keplar b", "Keplar"), ("51 Pegasi b", "51 Pegasi"),
                       ("Proxima Centauri b", "Proxima Centauri"), ("Kepler_x b", "X"),
                       ("100% b", "Percent")]:
        make_planet(name=name, host_star=star)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kepler", {"Kepler-22 b", "kepler-90 h", "Kepler_x b"}),
        ("KEPLER-", {"Kepler-22 b", "kepler-90 h"}),
        ("kepler_", {"Kepler_x b"}),  # "_" is literal, not a wildcard
        ("100%", {"100% b"}),
        ("pegasi", set()),  # prefix, not substring
        ("51 peg", {"51 Pegasi b"}),
        ("proxima centauri", {"Proxima Centauri b"}),
        ("x", {"Kepler_x b"}),  # by host star
        ("zzz", set()),
    ],
)
def test_search_matches_prefixes_exactly(app, catalog, query, expected):
    with app.app_context():
        condition = Planet.search(query, db.engine.dialect.name)
        assert set(db.session.scalars(select(Planet.name).where(condition))) == expected


def test_search_is_served_by_an_index(app, catalog):
    with app.app_context():
        dialect = db.engine.dialect.name
        statement = select(Planet.id).where(Planet.search("kepler", dialect))
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as connection:
            if dialect == "sqlite":
                plan = " ".join(str(row[-1]) for row in connection.execute(
                    text(f"EXPLAIN QUERY PLAN {compiled}")))
                assert "SCAN planets" not in plan.replace("USING INDEX", "")
                assert "ix_planets_host_star_lower" in plan or "uq_planets_name_lower" in plan
            else:
                connection.execute(text("SET enable_seqscan = off"))
                plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
                assert "Seq Scan" not in plan and "_pattern" in plan
