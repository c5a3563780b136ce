"""The page watch itself: it notices Content-Security-Policy violations and foreign requests
(otherwise every other browser test would pass for the wrong reason)."""

from __future__ import annotations


def test_the_watch_catches_csp_violations_and_foreign_requests(page, watch):
    page.goto("/")
    page.evaluate("""() => { const img = document.createElement("img");
                             img.src = "http://127.0.0.2:9/tracker.png";
                             document.body.append(img); }""")
    page.wait_for_timeout(300)
    assert any("Content Security Policy" in error for error in watch.errors), watch.errors
    assert watch.foreign_requests == ["http://127.0.0.2:9/tracker.png"]
    watch.errors.clear()
    watch.foreign_requests.clear()

    # A page without the app's policy: the request goes out (to a closed local port) and is seen.
    page.set_content('<img src="http://127.0.0.2:9/pixel.png" alt="">')
    page.wait_for_timeout(300)
    assert watch.foreign_requests == ["http://127.0.0.2:9/pixel.png"]
    watch.foreign_requests.clear()
    watch.errors.clear()
