"""Search on name and host star: what people type finds the planets they mean (a word anywhere
in the name or host star, every word, short words as prefixes), the same in the catalog, the
API and the console, served by the trigram indexes on both databases, with names that start
with the search first; and SQLite's trigram index stays in step with every way of writing."""

import html
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select, text

from console.api.parameters import PlanetListQuery
from console.audit import Source
from console.cli import seed_command
from console.services import planets
from models import AuditEvent, Planet, db
from models import planets as planets_model
from tests.test_import_stream import _rows

TRAPPIST_1 = {f"TRAPPIST-1 {letter}" for letter in "bcdefgh"}


# The forms of a search's condition, each forced here: SQLite's three (see
# models.planets._contain), PostgreSQL's two (every word looked up in the trigram index, or one
# and the others checked on the rows it finds; see _read_first). The ways a list of results is
# read add, on PostgreSQL, the matches sorted after reading the trigram index or the names
# walked in order (see Planet.search_key).
FORMS = {"sqlite": {"by-ids": {}, "in-list-order": {"INDEX_FIRST": 0},
                    "filter": {"FEW_MATCHES": -1}},
         "postgresql": {"every-word-looked-up": {"_read_first": lambda words: None},
                        "first-word-looked-up": {"_read_first": lambda words: tuple(words[:1])}}}
WAYS = {"sqlite": FORMS["sqlite"],
        "postgresql": {"index-first": {"_read_first": tuple},
                       "index-first-by-its-first-word": FORMS["postgresql"]["first-word-looked-up"],
                       "in-name-order": {"_read_first": lambda words: None}}}


def _force(request, app, monkeypatch, ways) -> None:
    with app.app_context():
        dialect = db.engine.dialect.name
    if request.param not in ways[dialect]:
        pytest.skip("another database's way of reading a search")
    for name, value in ways[dialect][request.param].items():
        monkeypatch.setattr(planets_model, name, value)


@pytest.fixture(params=[form for forms in FORMS.values() for form in forms])
def every_form(request, app, monkeypatch):
    """Every form of the condition on the database of this run."""
    _force(request, app, monkeypatch, FORMS)


@pytest.fixture(params=[way for ways in WAYS.values() for way in ways])
def every_way(request, app, monkeypatch):
    """Every way the database of this run can read a list of search results."""
    _force(request, app, monkeypatch, WAYS)


def _found(app, query: str) -> set[str]:
    with app.app_context():
        condition = Planet.search(query, db.engine.dialect.name)
        return set(db.session.scalars(select(Planet.name).where(condition)))


@pytest.fixture
def real_catalog(app):
    with app.app_context():
        planets.seed_catalog()


@pytest.mark.parametrize(("query", "expected"), [
    ("452", {"Kepler-452 b"}),
    ("centauri b", {"Proxima Centauri b"}),
    ("Centauri", {"Proxima Centauri b", "Proxima Centauri d"}),
    ("trappist", TRAPPIST_1),
    ("TRAPPIST-1 e", {"TRAPPIST-1 e"}),
    ("kepler 452", {"Kepler-452 b"}),
    ("452 kepler", {"Kepler-452 b"}),
])
def test_a_search_finds_the_planets_people_mean(app, real_catalog, every_form, query,
                                                 expected):
    assert _found(app, query) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("452", {"Kepler-452 b"}),
    ("centauri b", {"Proxima Centauri b"}),
    ("trappist", TRAPPIST_1),
])
def test_the_catalog_the_api_and_the_console_find_the_same(client, login_as, real_catalog,
                                                          every_way, query, expected):
    api = client.get("/api/planets", query_string={"q": query, "per_page": 100}).get_json()
    catalog = client.get("/planets", query_string={"q": query}).get_data(as_text=True)
    viewer, _ = login_as("viewer")
    console = viewer.get("/admin/planet/", query_string={"search": query}).get_data(as_text=True)
    assert {item["name"] for item in api["items"]} == expected
    assert {html.unescape(name) for name in
            re.findall(r'href="/planets/\d+">([^<]+)</a>', catalog)} == expected
    assert {html.unescape(name) for name in
            re.findall(r'<td class="col-name">([^<]*)</td>', console)} == expected


@pytest.fixture
def catalog(make_planet):
    for name, star in [("Kepler-22 b", "Kepler-22"), ("kepler-90 h", "Kepler-90"),
                       ("Keplar b", "Keplar"), ("51 Pegasi b", "51 Pegasi"),
                       ("Proxima Centauri b", "Proxima Centauri"), ("Kepler_x b", "X"),
                       ("Kepler-x c", "Y"), ("100% b", "Percent"), ("1/2 b", "Half"),
                       ("O'Neil's b", "O'Neil"), ('The "Q" b', "Quotes"),
                       ("Back\\slash b", "Slash"), ("Star*Dust b", "Dust"), ("A^B b", "Caret"),
                       ("Col:on b", "Colon"), ("Paren (x) b", "Paren"),
                       ("NEAR AND OR b", "Words")]:
        make_planet(name=name, host_star=star)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kepler", {"Kepler-22 b", "kepler-90 h", "Kepler_x b", "Kepler-x c"}),
        ("EPLE", {"Kepler-22 b", "kepler-90 h", "Kepler_x b", "Kepler-x c"}),  # inside
        ("pegasi", {"51 Pegasi b"}),
        ("pegasi kepler", set()),  # every word, in the same planet
        ("kepler zzz", set()),
        ("kepler 22", {"Kepler-22 b"}),  # a short word starts a word of the name
        ("kepler x", {"Kepler_x b", "Kepler-x c"}),  # ... or of the host star, or either
        ("centauri b", {"Proxima Centauri b"}),
        ("zzz", set()),
        # Text of short words only: a prefix of the name or the host star, as before.
        ("ke", {"Kepler-22 b", "kepler-90 h", "Keplar b", "Kepler_x b", "Kepler-x c"}),
        ("51 p", {"51 Pegasi b"}),
        ("x", {"Kepler_x b"}),  # by host star
        ("b", {"Back\\slash b"}),  # not every name with a "b" in it
        # What people type is text, never LIKE or FTS5 syntax, nor SQL.
        ("r_x", {"Kepler_x b"}),
        ("_", set()),
        ("100%", {"100% b"}),
        ("%", set()),
        ("1/2", {"1/2 b"}),
        ("o'neil", {"O'Neil's b"}),
        ("neil's", {"O'Neil's b"}),
        ('"q"', {'The "Q" b'}),
        ('"', set()),
        ("k\\s", {"Back\\slash b"}),
        ("r*d", {"Star*Dust b"}),
        ("star*", {"Star*Dust b"}),
        ("dust*", set()),  # no prefix query
        ("a^b", {"A^B b"}),
        ("^ca", set()),
        ("l:o", {"Col:on b"}),
        ("name:kepler", set()),  # no column filter
        ("(x)", {"Paren (x) b"}),
        ("paren (", {"Paren (x) b"}),
        ("near", {"NEAR AND OR b"}),
        ("near and", {"NEAR AND OR b"}),
        ("kepler OR pegasi", set()),  # OR is a word like any other
        ("kepler AND", set()),
        ("NEAR(kepler pegasi)", set()),
    ],
)
def test_search_matches_exactly(app, catalog, every_form, query, expected):
    assert _found(app, query) == expected


def _plan(statement) -> list[str]:
    """The database's plan of `statement`, a line per step."""
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "sqlite":
            return [str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
        return [row[0] for row in connection.execute(text(f"EXPLAIN {sql}"))]


def _large_table() -> None:
    """On PostgreSQL, 20,000 synthetic planets more, as autovacuum leaves a table: the trigram
    index's pending entries merged (until then the planner prices the index as dearer than
    reading the table) and fresh statistics. On a handful of rows, reading them all is the
    cheapest plan, and the planner rightly takes it."""
    planets.load_synthetic(20_000)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE planets"))


@pytest.mark.parametrize("query", ["kep", "pegasi kepler", "kepler 22"])
def test_a_search_of_three_characters_or_more_reads_the_trigram_index(app, catalog, query):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _large_table()  # where "kep" is in a third of the planets
        plan = _plan(select(Planet.id).where(Planet.search(query, db.engine.dialect.name)))
        if db.engine.dialect.name == "sqlite":
            assert any("planets_search VIRTUAL TABLE" in line for line in plan), plan
            assert not any(re.match(r"SCAN planets( |$)", line.strip()) for line in plan), plan
        else:
            assert any("Bitmap Index Scan on ix_planets_search_trgm" in line
                       for line in plan), plan
            assert not any("Seq Scan on planets" in line for line in plan), plan


def test_postgresql_sorts_the_few_matches_of_a_rare_search_and_walks_names_for_a_common_one(
        app):
    """A search the planner expects few planets to match is read from the trigram index and
    sorted, where the planner alone walks the names to a page of them (pricing the walk as if
    matches were spread evenly); a commoner search walks the names in the index alone, which
    holds the text searched, and stops after a page."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite's ways are chosen by counting (see every_form)")
        _large_table()

        def page_plan(search: str, part: int = 1) -> str:
            """The plan of the ids of page 1 of the search's second part (names that do not
            start with it), or of its first, as console.paging reads them."""
            query = PlanetListQuery(q=search)
            ordering = query.ordering
            page = query.statement().where(*ordering.parts()[part]).order_by(
                *ordering.order_by()).limit(26).with_only_columns(
                Planet.id, maintain_column_froms=True)
            return " ".join(_plan(page))

        # 120, 1,139 and 6,667 planets
        rare, middling, common = page_plan("0142"), page_plan("014"), page_plan("kepler")
        rare_leads = page_plan("0142", part=0)
        rare_and_common = page_plan("kepler 0142")
    assert "Bitmap Index Scan on ix_planets_search_trgm" in rare, rare
    assert "Index Scan using ix_planets_name_pattern" in rare_leads, rare_leads  # a range
    assert "Sort" in rare and "Index Scan using" not in rare, rare
    for walked in (middling, common):  # in name order, from an index of names
        assert re.search(r"Index (Only )?Scan using (uq_planets_name_lower|ix_planets_listed)",
                         walked), walked
        assert "Bitmap" not in walked, walked
    # The common word is checked on the rows that the rare one finds in the index.
    looked_up = re.search(r"Bitmap Index Scan on ix_planets_search_trgm .*?"
                          r"Index Cond: \((.*?)\)(?: |$)", rare_and_common)
    assert looked_up and "%0142%" in looked_up[1] and "kepler" not in looked_up[1], \
        rare_and_common
    assert "Sort" in rare_and_common, rare_and_common


def test_a_search_is_planned_once_a_minute(app, catalog, monkeypatch):
    """How a search is read (PostgreSQL's planner asked with EXPLAIN, SQLite's index asked how
    many planets each word matches) is kept per database for DECISION_SECONDS: the pages of
    one search ask once; other words, or the same ones later, ask again."""
    clock = [1_000.0]
    monkeypatch.setattr(planets_model, "monotonic", lambda: clock[0])
    asked = []

    def count_questions(connection, cursor, statement, *args) -> None:
        if statement.startswith(("EXPLAIN", "SELECT count(*)")):
            asked.append(statement)

    with app.app_context():
        dialect = db.engine.dialect.name
        event.listen(db.engine, "before_cursor_execute", count_questions)
        try:
            Planet.search("kepler 452", dialect)
            Planet.search_key("kepler 452", dialect)
            once = len(asked)
            assert once > 0
            for _ in range(2):
                Planet.search("kepler 452", dialect)
                Planet.search_key("kepler 452", dialect)
            assert len(asked) == once
            Planet.search("trappist", dialect)
            Planet.search_key("trappist", dialect)
            assert len(asked) > once
            again = len(asked)
            clock[0] += planets_model.DECISION_SECONDS + 1
            Planet.search("kepler 452", dialect)
            assert len(asked) > again
        finally:
            event.remove(db.engine, "before_cursor_execute", count_questions)


def test_a_search_of_short_words_reads_the_prefix_indexes(app, catalog):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _large_table()
        searched = Planet.search("51 p", db.engine.dialect.name)
        plan = " ".join(_plan(select(Planet.id).where(searched)))
    assert "SCAN planets " not in plan.replace("USING INDEX", "") and "Seq Scan" not in plan
    assert "planets_search" not in plan and "trgm" not in plan


# --- names that start with the search first, in pages ------------------------------------------

# Names that start with "kepler" first, then the others with "kepler" in their host star, each
# part by name ignoring case.
RELEVANT_ORDER = ["Kepler-1 b", "kepler-10 c", "Kepler-9 b", "Alpha b", "Beta c", "Zeta b"]


@pytest.fixture
def leads_and_rest(make_planet):
    for name, star in [("Zeta b", "Kepler-5"), ("Kepler-9 b", "Kepler-9"),
                       ("Alpha b", "Kepler-7"), ("kepler-10 c", "Kepler-10"),
                       ("Beta c", "Keplerian"), ("Kepler-1 b", "Kepler-1"), ("Other b", "Other")]:
        make_planet(name=name, host_star=star)


def _api_pages(client, **query) -> list[list[str]]:
    """The names of every page of the list, following its `next` links."""
    pages, url = [], "/api/planets"
    while url:
        body = client.get(url, query_string=query if url == "/api/planets" else None).get_json()
        pages.append([item["name"] for item in body["items"]])
        url = body["next"]
    return pages


@pytest.mark.parametrize("per_page", [1, 2, 4, 25])
def test_with_no_sort_names_that_start_with_the_search_come_first(client, leads_and_rest,
                                                                   every_way, per_page):
    pages = _api_pages(client, q="kepler", per_page=per_page)
    assert sum(pages, []) == RELEVANT_ORDER
    assert len(pages) == -(-len(RELEVANT_ORDER) // per_page)
    by_number = [[item["name"] for item in client.get("/api/planets", query_string={
        "q": "kepler", "per_page": per_page, "page": number}).get_json()["items"]]
        for number in range(1, len(pages) + 2)]
    assert by_number == [*pages, []]


def test_a_search_sorted_after_its_index_reads_page_one_in_one_statement(
        app, client, leads_and_rest, monkeypatch):
    """On PostgreSQL a search read from the trigram index and sorted reads both parts of page
    1 (names that start with it, then the rest) in one statement, not one per part: each
    would find and sort the same matches."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite walks a search's results in name order, a part at a time")
    monkeypatch.setattr(planets_model, "_read_first", lambda words: tuple(words))
    planet_reads = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if "FROM planets" in statement:
            planet_reads.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        body = client.get("/api/planets", query_string={"q": "kepler"}).get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [item["name"] for item in body["items"]] == RELEVANT_ORDER
    assert len(planet_reads) == 1


def test_a_chosen_sort_is_kept(client, leads_and_rest):
    by_name = sorted(RELEVANT_ORDER, key=str.lower)
    assert sum(_api_pages(client, q="kepler", sort="name", per_page=2), []) == by_name
    assert sum(_api_pages(client, q="kepler", sort="-name", per_page=2), []) == by_name[::-1]


def test_catalog_pages_forwards_and_back_keep_names_that_start_with_it_first(
        client, leads_and_rest, every_way, monkeypatch):
    monkeypatch.setattr("console.site.views.PLANETS_PER_PAGE", 2)

    def names_and_link(url: str, label: str) -> tuple[list[str], str | None]:
        page = client.get(url).get_data(as_text=True)
        link = re.search(rf'<a class="page-link" href="([^"#]+)">{label}</a>', page)
        return ([html.unescape(name) for name in
                 re.findall(r'href="/planets/\d+">([^<]+)</a>', page)],
                link and html.unescape(link[1]))

    forwards, url = [], "/planets?q=kepler"
    while url:
        names, following = names_and_link(url, "Next")
        forwards.append(names)
        last, url = url, following
    backwards, url = [], last
    while url:
        names, url = names_and_link(url, "Previous")
        backwards.append(names)
    assert sum(forwards, []) == RELEVANT_ORDER
    assert backwards == forwards[::-1]


def test_console_search_pages_hold_whichever_way_each_page_is_read(login_as, leads_and_rest,
                                                                    monkeypatch):
    """The console's cursors name the sort, not the form of its key: a Next link made while
    the matches were read from the index holds when the next page walks the names, and back."""
    viewer, _ = login_as("viewer")
    monkeypatch.setattr("console.admin.planets.PlanetView.page_size", 2)
    names, url, page_number = [], "/admin/planet/?search=kepler", 0
    while url:
        from_index = page_number % 2 == 1  # odd pages from the index, even ones in name order
        monkeypatch.setattr(planets_model, "_read_first",
                            lambda words, answer=from_index: tuple(words) if answer else None)
        page = viewer.get(url).get_data(as_text=True)
        names += [html.unescape(name) for name in
                  re.findall(r'<td class="col-name">([^<]*)</td>', page)]
        link = re.search(r'<a class="page-link" href="([^"#]+)"[^>]*>[^<]*Next', page)
        url, page_number = link and html.unescape(link[1]), page_number + 1
    assert names == sorted(RELEVANT_ORDER, key=str.lower)
    assert page_number == 3


# --- SQLite's trigram index stays in step ------------------------------------------------------


def test_the_migrations_build_the_search_index_the_models_declare(app):
    """SQLite's trigram table and its triggers, which test_migrations.py's comparison of
    indexes and CHECKs does not see (it compares PostgreSQL's trigram indexes)."""
    query = text("SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'planets_search%'"
                 " ORDER BY name")
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's trigram indexes are compared with the other indexes")
        with db.engine.connect() as connection:
            migrated = connection.execute(query).all()
    scratch = sa.create_engine("sqlite://")
    with scratch.begin() as connection:
        db.metadata.create_all(connection)
        declared = connection.execute(query).all()
    scratch.dispose()
    assert migrated == declared
    assert {kind for kind, _, _ in declared} == {"table", "trigger"}
    assert len([kind for kind, _, _ in declared if kind == "trigger"]) == 3


def _assert_index_in_step(app) -> None:
    """SQLite's trigram index holds the names and host stars of the planets table: FTS5's
    check against its content table fails otherwise (PostgreSQL's indexes always are)."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("INSERT INTO planets_search (planets_search, rank)"
                                    " VALUES ('integrity-check', 1)"))
        db.session.rollback()


def test_the_index_follows_every_change_of_a_planet(app, make_planet):
    planet_id = make_planet(name="Kepler-452 b", host_star="Kepler-452")
    assert _found(app, "452") == {"Kepler-452 b"}
    with app.app_context():
        planets.update(db.session.get(Planet, planet_id),
                       {"name": "Renamed b", "host_star": "Elsewhere"}, partial=True,
                       via=Source.CLI)
    assert _found(app, "452") == set() and _found(app, "elsewhere") == {"Renamed b"}
    with app.app_context():
        planets.update(db.session.get(Planet, planet_id), {"mass_earth": 5}, partial=True,
                       via=Source.CLI)
        planets.delete([db.session.get(Planet, planet_id)], via=Source.CLI)
    assert _found(app, "renamed") == set()
    _assert_index_in_step(app)
    with app.app_context():
        deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "planet.delete"))
        planets.restore(deleted, via=Source.CLI)
    assert _found(app, "renamed") == {"Renamed b"}
    _assert_index_in_step(app)


@pytest.mark.parametrize("threshold", [10**9, 1], ids=["row-by-row", "rebuilt-indexes"])
def test_the_index_follows_bulk_loads_and_imports(app, runner, monkeypatch, threshold):
    """seed --synthetic and the CSV import, with their secondary indexes kept or dropped and
    rebuilt (SQLite's import drops them from REINDEX_THRESHOLD rows on)."""
    monkeypatch.setattr(planets, "REINDEX_THRESHOLD", threshold)
    monkeypatch.setattr(planets, "SYNTHETIC_BATCH_SIZE", 40)
    monkeypatch.setattr(planets, "IMPORT_BATCH_SIZE", 10)
    assert runner.invoke(seed_command, ["--synthetic", "101"]).exit_code == 0
    with app.app_context():
        assert planets.import_rows(_rows(30)).stored
    assert _found(app, "00000101") == {"Synthetic-00000101 b"}
    assert _found(app, "stream 0000029") == {"Stream 0000029 b"}
    assert len(_found(app, "kepler")) == 101 // 3  # every third synthetic star
    _assert_index_in_step(app)
