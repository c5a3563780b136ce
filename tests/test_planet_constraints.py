"""The database repeats the schema's rules, so a path around the schema cannot store bad data."""

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models import Planet, db

VALID_ROW = {"name": "Direct b", "planet_type": "gas_giant", "host_star": "Direct",
             "discovery_method": "imaging", "description": "", "source": ""}


def _insert(app, **changes) -> None:
    with app.app_context():
        try:
            db.session.execute(insert(Planet), [{**VALID_ROW, **changes}])
            db.session.commit()
        finally:
            db.session.rollback()


def test_valid_row_inserts(app):
    _insert(app)
    with app.app_context():
        assert db.session.scalar(select(Planet.name)) == "Direct b"


@pytest.mark.parametrize(
    "changes",
    [
        {"mass_earth": 0}, {"mass_earth": -5}, {"radius_earth": 0},
        {"orbital_period_days": -1}, {"semi_major_axis_au": 0}, {"distance_ly": -0.5},
        {"equilibrium_temp_k": 0}, {"discovery_year": 1500}, {"discovery_year": 2500},
        {"planet_type": "hot_jupiter"}, {"discovery_method": "guesswork"}, {"name": "  "},
    ],
)
def test_check_constraints_refuse_bad_values(app, changes):
    with pytest.raises(IntegrityError):
        _insert(app, **changes)
    with app.app_context():
        assert db.session.scalar(select(Planet.id)) is None


def test_names_are_unique_ignoring_case_in_the_database(app):
    _insert(app, name="Kepler-7 b")
    with pytest.raises(IntegrityError):
        _insert(app, name="KEPLER-7 B")
