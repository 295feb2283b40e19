"""The browser tests' fixtures: Debian's Chromium (by `executable_path`, never `playwright
install`) through Playwright's async API in the test's own event loop, a page that records every
Content-Security-Policy violation the browser reports, and axe-core at WCAG 2.2 AA.

axe-core comes from `npm ci` in this folder (package-lock.json). It is put into each page as an
init script, which runs through the DevTools protocol as the test, not as the page: a script tag
would be refused by the very CSP under test, and `bypass_csp` would hide its violations."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.browser.stack import Stack, running_stack

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("MEND_CHROMIUM", "/usr/bin/chromium")
WCAG22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"

# Installed before any of the page's own scripts: the violations the browser reports.
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI,
                     source: e.sourceFile, line: e.lineNumber});
});
"""


@pytest.fixture
async def mend(platform, unique, topic_prefix, keys_dir) -> AsyncIterator[Stack]:
    async with running_stack(platform, unique, topic_prefix, keys_dir) as stack:
        yield stack


def require_tools() -> None:
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium"
    assert AXE.exists(), f"no axe-core: run `npm ci` in {HERE}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_tools()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class Checked:
    """A browser context whose pages are watched: CSP violations (the DOM event and the
    console) and axe results, asserted empty on every page a test visits."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.console: list[str] = []

    async def page(self) -> Page:
        page = await self.context.new_page()
        page.on("console", self._console)
        return page

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    async def check(self, page: Page, name: str | None = None) -> None:
        """0 CSP violations and 0 axe violations at WCAG 2.2 AA on the page as it is now; a
        screenshot under docs/screenshots when MEND_SCREENSHOTS=1."""
        await page.wait_for_load_state("load")
        violations = await page.evaluate("window.__csp")
        assert violations == [] and self.console == [], (violations, self.console)
        result = await page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG22_AA
        )
        problems = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
        ]
        assert problems == [], json.dumps(problems, indent=1)
        if name and os.environ.get("MEND_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            # caret="initial": hiding the caret (the default) injects an inline style, which the
            # page's CSP refuses, and the next check would count that refusal as the page's.
            await page.screenshot(
                path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial"
            )


@pytest.fixture
async def checked(browser: Browser) -> AsyncIterator[Checked]:
    context = await browser.new_context(viewport={"width": 1000, "height": 800})
    await context.add_init_script(RECORD_CSP)
    await context.add_init_script(path=str(AXE))
    # The quick exit's neutral site, answered here so the tests need no network.
    await context.route(
        "https://www.bbc.co.uk/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html",
            body="<!doctype html><html lang=en><title>Weather</title><h1>Weather</h1></html>",
        ),
    )  # fmt: skip
    try:
        yield Checked(context)
    finally:
        await context.close()
