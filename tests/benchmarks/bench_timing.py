"""Timing in-process requests with the Flask test client, and reading the pager's links."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

WARMUP_REQUESTS = 2  # the first request compiles templates and opens connections
MIN_REQUESTS = 5


@dataclass
class Timing:
    """Durations of one kind of request, in milliseconds."""

    url: str
    samples: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def p95(self) -> float:
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


def _request_ms(client: FlaskClient, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    response.close()
    return elapsed, response.status_code


def _warm_up(client: FlaskClient, url: str, timing: Timing) -> float:
    """The duration of the last warm-up request; sets timing.error unless all answer 200."""
    elapsed = 0.0
    for _ in range(WARMUP_REQUESTS):
        elapsed, status = _request_ms(client, url)
        if status != 200:
            timing.error = f"HTTP {status}"
            break
    return elapsed


def planned_counts(warm_ms: list[float], most: int, budget_s: float) -> list[int]:
    """As many requests as fit in `budget_s` seconds, within [MIN_REQUESTS, most]."""
    return [max(MIN_REQUESTS, min(most, int(budget_s * 1000 / max(ms, 0.01))))
            for ms in warm_ms]


def schedule(counts: list[int]) -> Iterator[int]:
    """Indexes of the targets in the order to request them: each target's `count` requests
    spread evenly over the whole run, so that every measurement sees the same conditions
    (other processes on the machine come and go) and ratios between them stay fair."""
    steps = max(counts, default=0)
    for step in range(steps):
        for index, count in enumerate(counts):
            if (step + 1) * count // steps > step * count // steps:
                yield index


def time_interleaved(targets: list[tuple[FlaskClient, str]], most: int, budget_s: float,
                     progress: Callable[[str], None] | None = None) -> list[Timing]:
    """Timed GETs of every (client, url) after a warm-up of each, interleaved: up to `most`
    requests of a cheap page, fewer of a slow one (about `budget_s` seconds' worth)."""
    timings = [Timing(url) for _, url in targets]
    warm = [_warm_up(client, url, timing) for (client, url), timing in zip(targets, timings,
                                                                          strict=True)]
    counts = [0 if timing.error else count
              for timing, count in zip(timings, planned_counts(warm, most, budget_s),
                                       strict=True)]
    total, done, started = sum(counts), 0, time.perf_counter()
    for index in schedule(counts):
        timing = timings[index]
        if timing.error:
            continue
        elapsed, status = _request_ms(*targets[index])
        if status != 200:
            timing.error = f"HTTP {status}"
            continue
        timing.samples.append(elapsed)
        done += 1
        if progress and done % max(1, total // 10) == 0:
            progress(f"  {done:,} of {total:,} requests, {time.perf_counter() - started:.0f} s")
    return timings


def time_each(client: FlaskClient, url: str, count: int, before: Callable[[], None]) -> Timing:
    """`count` timed GETs of `url` in a row, each after an untimed `before()` (e.g. clearing
    a cache, to time what a first view costs)."""
    timing = Timing(url)
    for _ in range(count):
        before()
        elapsed, status = _request_ms(client, url)
        if status != 200:
            timing.error = f"HTTP {status}"
            break
        timing.samples.append(elapsed)
    return timing


class _PagerParser(HTMLParser):
    """Collects (href, text) of the links inside <ul class="pagination"> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # nesting of <ul> inside a pagination list
        self.href: str | None = None
        self.text = ""
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "ul" and (self.depth or "pagination" in (values.get("class") or "").split()):
            self.depth += 1
        elif tag == "a" and self.depth:
            self.href, self.text = values.get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self.href is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul" and self.depth:
            self.depth -= 1
        elif tag == "a" and self.href is not None:
            self.links.append((self.href, self.text.strip()))
            self.href = None


def pager_links(html: str) -> list[tuple[str, str]]:
    """The pager's links on a page, as (href, text), without javascript: placeholders."""
    parser = _PagerParser()
    parser.feed(html)
    return [(href, text) for href, text in parser.links
            if href and not href.startswith(("javascript:", "#"))]


def page_number(href: str) -> int | None:
    """The `page` query parameter of a link, when it is a number."""
    values = parse_qs(urlsplit(href).query).get("page", [])
    return int(values[0]) if values and values[0].isdigit() else None


def deepest_link(html: str) -> str | None:
    """The pager link that goes furthest (the largest `page`), e.g. the last-page link."""
    numbered = [(page_number(href), href) for href, _ in pager_links(html)]
    numbered = [(number, href) for number, href in numbered if number is not None]
    return max(numbered)[1] if numbered else None


def pager_link(html: str, name: str) -> str:
    """The pager's link named `name` ("Next", "Previous") on a page."""
    links = [href for href, text in pager_links(html) if name in text]
    if not links:
        raise LookupError(f"the page has no {name} link")
    return links[0]


def next_link(html: str) -> str:
    """The pager's Next link on a page."""
    return pager_link(html, "Next")


def previous_link(html: str) -> str:
    """The pager's Previous link on a page."""
    return pager_link(html, "Previous")


def follow_next_links(client: FlaskClient, url: str) -> tuple[str, int, str]:
    """The last page of a list, reached as a person reaches it: from `url`, the Next link of
    every page until a page has none. Returns its URL, how many pages were read (the last
    page's number when `url` is page 1) and its HTML."""
    pages = 0
    while True:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered HTTP {response.status_code}")
        html = response.get_data(as_text=True)
        pages += 1
        try:
            url = next_link(html)
        except LookupError:
            return url, pages, html
