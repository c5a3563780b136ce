"""The colour theme: a switch in every page's header (Auto, Light, Dark), stored on the account
of a logged-in user and audited, in a cookie for a visitor, rendered into <html data-theme>;
and the palette of console/static/console.css, whose contrast ratios are computed here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from console.auth.theme import THEME_COOKIE
from models import AuditEvent, User, db
from tests.conftest import PASSWORD, AuthActions, csrf_token_from

CSS = Path(__file__).resolve().parents[1] / "console" / "static" / "console.css"


def _theme_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).theme


def _theme_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "user.theme").order_by(AuditEvent.id)))


def _rendered_theme(response) -> str:
    match = re.search(r'<html lang="en" data-theme="([a-z]*)">', response.get_data(as_text=True))
    assert match, "no data-theme on <html>"
    return match[1]


def _pressed(response) -> list[str]:
    """The values of the switch's buttons that are shown pressed."""
    return re.findall(r'<button type="submit" name="theme" value="([a-z]+)"[^>]*'
                      r'aria-pressed="true"', response.get_data(as_text=True))


# The switch itself.

@pytest.mark.parametrize(("next_url", "via"), [("/planets?q=kepler", "site"),
                                                ("/admin/planet/", "console")])
def test_a_users_theme_is_stored_on_the_account_and_audited(login_as, app, next_url, via):
    client, user = login_as("editor")
    response = client.post("/account/theme", data={"theme": "dark", "next": next_url})
    assert response.status_code == 302 and response.location == next_url
    assert _theme_of(app, user.id) == "dark"
    [event] = _theme_events(app)
    assert (event.target_type, event.target_id) == ("user", str(user.id))
    assert (event.actor_id, event.actor_username) == (user.id, user.username)
    assert event.changes == {"theme": ["auto", "dark"]}
    assert event.via == via
    assert THEME_COOKIE not in response.headers.get("Set-Cookie", "")  # the account keeps it


def test_the_chosen_theme_renders_into_every_page(login_as):
    client, _ = login_as("admin")
    for path in ("/", "/account", "/admin/", "/admin/planet/", "/nowhere"):
        assert _rendered_theme(client.get(path)) == "auto", path
    client.post("/account/theme", data={"theme": "light", "next": "/"})
    for path in ("/", "/account", "/admin/", "/admin/planet/", "/nowhere"):
        response = client.get(path)
        assert _rendered_theme(response) == "light", path
        assert _pressed(response) == ["light"], path


def test_the_theme_follows_the_user_to_a_new_login(login_as, app):
    client, user = login_as()
    client.post("/account/theme", data={"theme": "dark", "next": "/"})
    client.post("/logout")
    assert _rendered_theme(client.get("/")) == "auto"  # a visitor's page again

    other_browser = app.test_client()
    assert AuthActions(other_browser).login(user.username).status_code == 302
    response = other_browser.get("/")
    assert _rendered_theme(response) == "dark"
    assert _pressed(response) == ["dark"]


def test_choosing_the_theme_one_has_stores_nothing(login_as, app):
    client, user = login_as()
    client.post("/account/theme", data={"theme": "dark"})
    response = client.post("/account/theme", data={"theme": "dark"})
    assert response.status_code == 302
    assert len(_theme_events(app)) == 1


def test_a_visitors_theme_is_kept_in_a_cookie(client, app):
    response = client.post("/account/theme", data={"theme": "dark", "next": "/login"})
    assert response.status_code == 302 and response.location == "/login"
    cookie = client.get_cookie(THEME_COOKIE)
    assert cookie is not None and cookie.value == "dark" and cookie.http_only
    assert "SameSite=Lax" in response.headers["Set-Cookie"]
    assert _rendered_theme(client.get("/login")) == "dark"
    assert _theme_events(app) == []  # no account, nothing stored


def test_a_forged_theme_cookie_counts_as_auto(client):
    client.set_cookie(THEME_COOKIE, '"><script>')
    assert _rendered_theme(client.get("/")) == "auto"


@pytest.mark.parametrize("theme", ["purple", "", "Dark", "dark ", "auto\x01"])
def test_a_theme_that_does_not_exist_is_refused_and_changes_nothing(login_as, app, client,
                                                                   theme):
    member, user = login_as()
    response = member.post("/account/theme", data={"theme": theme, "next": "/"})
    assert response.status_code == 400
    assert b"Choose Auto, Light or Dark as the colour theme." in response.data
    assert _theme_of(app, user.id) == "auto"
    assert _theme_events(app) == []

    response = client.post("/account/theme", data={"theme": theme, "next": "/"})
    assert response.status_code == 400
    assert b"Choose Auto, Light or Dark as the colour theme." in response.data
    assert client.get_cookie(THEME_COOKIE) is None


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil",
                                      "", "javascript:alert(1)"])
def test_the_switch_goes_back_only_to_pages_of_this_site(client, next_url):
    response = client.post("/account/theme", data={"theme": "light", "next": next_url})
    assert response.status_code == 302 and response.location == "/"


def test_a_user_who_must_change_their_password_may_still_switch(login_as, app):
    client, user = login_as()
    with app.app_context():
        db.session.get(User, user.id).must_change_password = True
        db.session.commit()
    response = client.post("/account/theme", data={"theme": "dark",
                                                   "next": "/account/password"})
    assert response.location == "/account/password"
    assert _theme_of(app, user.id) == "dark"


def test_every_page_header_has_the_switch_as_a_form_that_works_without_javascript(client):
    page = client.get("/planets").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/account/theme"[^>]*>(.*?)</form>', page,
                     re.DOTALL)
    assert form, "no theme switch"
    assert 'name="csrf_token"' in form[1]
    assert '<input type="hidden" name="next" value="/planets">' in form[1]
    assert re.findall(r'<button type="submit" name="theme" value="([a-z]+)"', form[1]) == [
        "auto", "light", "dark"]
    assert 'role="group" aria-label="Colour theme"' in form[1]


class TestWithCsrfProtection:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def _log_in(self, client, user) -> str:
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": user.username,
                                    "password": PASSWORD})
        return csrf_token_from(client.get("/").get_data(as_text=True))

    def test_the_switch_needs_the_csrf_token(self, client, make_user, app):
        user = make_user()
        token = self._log_in(client, user)
        refused = client.post("/account/theme", data={"theme": "dark", "next": "/"})
        assert refused.status_code == 400
        assert _theme_of(app, user.id) == "auto"
        taken = client.post("/account/theme", data={"theme": "dark", "next": "/",
                                                    "csrf_token": token})
        assert taken.status_code == 302
        assert _theme_of(app, user.id) == "dark"

    def test_a_visitors_switch_needs_the_csrf_token_too(self, client):
        refused = client.post("/account/theme", data={"theme": "dark"})
        assert refused.status_code == 400 and client.get_cookie(THEME_COOKIE) is None
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        client.post("/account/theme", data={"theme": "dark", "csrf_token": token})
        assert client.get_cookie(THEME_COOKIE).value == "dark"


# The palette: console.css's custom properties, light and dark, and the WCAG 2 contrast ratios
# of every pair of colours that meet on a page.

def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(one: str, other: str) -> float:
    """WCAG 2's contrast ratio of two opaque #rrggbb colours, 1 to 21."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _block(css: str, selector: str) -> str:
    start = css.index(selector + " {") + len(selector) + 2
    return css[start:css.index("}", start)]


def _properties(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", block))


def _palettes() -> dict[str, dict[str, str]]:
    """{theme: {property: #rrggbb}}: light-dark(light, dark) split, var(...) resolved."""
    css = CSS.read_text()
    both = _properties(_block(css, ":root"))
    light, dark = {}, {}
    for name, value in both.items():
        if match := re.fullmatch(r"light-dark\((.+), (.+)\)", value.strip()):
            light[name], dark[name] = match[1], match[2]
        else:
            light[name] = dark[name] = value
    dark.update(_properties(_block(css, ':root[data-theme="dark"]')))

    def resolved(palette: dict[str, str]) -> dict[str, str]:
        def value(name: str) -> str:
            raw = palette[name].strip()
            if match := re.fullmatch(r"var\(--([\w-]+)\)", raw):
                return value(match[1])
            if re.fullmatch(r"#[0-9a-fA-F]{3}", raw):  # #fff
                raw = "#" + "".join(digit * 2 for digit in raw[1:])
            return raw.lower()

        return {name: value(name) for name in palette}

    return {"light": resolved(light), "dark": resolved(dark)}


PALETTES = _palettes()
TEXT = 4.5
NON_TEXT = 3.0
ROWS = ("bg", "surface", "surface-2", "stripe", "row-hover", "row-warning", "row-secondary")
# (foreground, backgrounds, least ratio): names of custom properties, or #rrggbb.
PAIRS = [
    ("text", ROWS, TEXT),
    ("muted", ROWS, TEXT),  # .text-muted, help text, placeholders, the footer, disabled pager
    ("link", ROWS, TEXT),  # links, sort headers in list tables, the pager
    ("link-hover", ("bg", "surface", "surface-2"), TEXT),
    ("code", ("bg", "surface", "surface-2", "stripe"), TEXT),
    ("icon", ("bg", "surface", "stripe", "row-hover"), TEXT),  # the list's row actions
    *((name, ("bg", "surface"), TEXT) for name in (
        "primary-text", "secondary-text", "success-text", "danger-text", "info-text",
        "warning-text")),
    *((f"alert-{kind}-text", (f"alert-{kind}-bg",), TEXT)
      for kind in ("primary", "secondary", "success", "danger", "warning", "info")),
    ("link", tuple(f"alert-{kind}-bg" for kind in ("warning", "info")), TEXT),
    # White text on solid buttons, badges, the pager's current page and chosen menu items.
    *(("#ffffff", (name, f"{name}-hover"), TEXT)
      for name in ("primary", "secondary", "success", "danger", "info")),
    ("#ffffff", ("dark",), TEXT),
    ("#212529", ("#ffc107", "#f8f9fa"), TEXT),  # warning badges; the switch's pressed button
    # The navigation bar and the hero, dark in both themes.
    ("navbar-link", ("navbar-bg",), TEXT),
    ("#ffffff", ("navbar-bg", "hero-start", "hero-middle", "hero-end"), TEXT),
    # Controls and the focus ring.
    ("control-border", ("bg", "surface", "surface-2"), NON_TEXT),
    ("focus-outer", ("bg", "surface", "surface-2"), NON_TEXT),
    ("focus-light", ("navbar-bg", "hero-start", "hero-middle", "hero-end"), NON_TEXT),
    ("focus-dark", ("focus-light",), 9.0),  # so one tone has 3:1 on any background at all
    ("chart-bar", ("surface",), NON_TEXT),
]


def _colour(palette: dict[str, str], name: str) -> str:
    return name if name.startswith("#") else palette[name]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_pair_of_the_palette_has_enough_contrast(theme):
    palette = PALETTES[theme]
    too_low = [f"{fg} on {bg}: {contrast(_colour(palette, fg), _colour(palette, bg)):.2f}:1 "
               f"< {least}:1"
               for fg, backgrounds, least in PAIRS for bg in backgrounds
               if contrast(_colour(palette, fg), _colour(palette, bg)) < least]
    assert too_low == []


def test_the_palette_is_all_opaque_hex_colours():
    """The ratios above are only meaningful for opaque colours."""
    for theme, palette in PALETTES.items():
        for name, value in palette.items():
            if not value.startswith("url("):
                assert re.fullmatch(r"#[0-9a-f]{6}", value), f"{theme} --{name}: {value}"


def test_the_chosen_and_the_systems_dark_theme_are_the_same():
    """What light-dark() cannot choose (an image) is set for both, the same."""
    css = CSS.read_text()
    chosen = _properties(_block(css, ':root[data-theme="dark"]'))
    media = css[css.index("@media (prefers-color-scheme: dark)"):]
    system = _properties(_block(media, ':root:not([data-theme="light"])'))
    assert chosen == system and chosen
    assert "color-scheme: light dark;" in _block(css, ":root")  # Auto: the system's
    assert "color-scheme: dark;" in _block(css, ':root[data-theme="dark"]')
    assert "color-scheme: light;" in _block(css, ':root[data-theme="light"]')


def test_the_contrast_formula_matches_known_ratios():
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#007bff", "#ffffff") == pytest.approx(3.98, abs=0.01)  # Bootstrap's blue
    assert contrast("#ffbf47", "#ffffff") == pytest.approx(1.64, abs=0.01)  # the old ring
