"""The app in a real Chromium, for the browser tests and the ui.browser.* scenario alike.

`running_app` starts `streamlit run app.py` on a free port (until /_stcore/health answers);
`CHROMIUM`/`CHROMIUM_ARGS` launch Debian's Chromium through Playwright (no browser download,
no calls home). `BrowserSession` waits for a step the way a person sees it end: Streamlit's
script finished (a run counted by a MutationObserver on its script-state attribute, so a
fast run is not missed), no greyed (stale) element left, and the step's result on the page.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.sandbox_process import ROOT, free_port, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 600_000  # a million-row push on two busy cores
PICK_TRIES, PICK_WAIT_MS = 4, 20_000  # a selectbox's list opened again if its option hides

# Counts finished script runs (any state -> notRunning: React may batch a short run's
# "running" away) from the page's first paint on.
_RUN_COUNTER = """
window.__benchRuns = 0;
new MutationObserver((records) => {
  for (const r of records) {
    const now = r.target.getAttribute('data-test-script-state');
    const t = window.__benchT;
    if (t && now === 'running' && t.running === undefined) t.running = performance.now();
    if (r.oldValue !== 'notRunning' && now === 'notRunning') {
      window.__benchRuns += 1;
      if (t) t.idle = performance.now();
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""
# What a step's `done` body can call: a metric's shown value, whether the page says a text.
_HELPERS = """
const metric = (label) => {
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    if (l && l.innerText.trim() === label)
      return m.querySelector('[data-testid="stMetricValue"]').innerText.trim();
  }
  return null;
};
const text = (s) => document.querySelector('[data-testid="stMain"]').innerText.includes(s);
"""
# Idle: a run finished since `n`, none running now, nothing greyed out, and `done` holds.
_IDLE = """([n, done]) => {
  if (window.__benchRuns <= n) return false;
  if (!document.querySelector('[data-test-script-state="notRunning"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const map = document.querySelector('.tag-map');  // ui/map_chart.py: the figure drawn
  if (map && map.dataset.drawn !== map.dataset.sent) return false;
  return done === null || new Function(HELPERS + done)();
}""".replace("HELPERS", json.dumps(_HELPERS))


@contextmanager
def running_app(env: Mapping[str, str]) -> Iterator[str]:
    """The app's URL while `streamlit run app.py` runs with `env`; stopped afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        stop(proc)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not answer /_stcore/health within 60 s")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserSession:
    """One tab of the app: act, then wait until the page is idle with the result shown."""

    page: Any  # playwright.sync_api.Page
    received: int = 0  # bytes the app sent over its websocket so far
    last_bytes: int = 0  # of them, during the last `act`
    # The last `act` in the browser's clock, seconds: until a script run started, from then
    # until the last run ended, and from that end until the page showed the result.
    last_split: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Seconds the tab's main thread was busy (layout, script, paint) during the last `act`.
    last_busy: float = 0.0
    cdp: Any = None  # the tab's DevTools session, for its Performance metrics

    @classmethod
    def open(cls, browser: Any, url: str) -> BrowserSession:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.add_init_script(_RUN_COUNTER)
        session = cls(page)
        page.on("websocket", lambda ws: ws.on("framereceived", session._count))
        session.cdp = page.context.new_cdp_session(page)
        session.cdp.send("Performance.enable")
        session.act(lambda: page.goto(url))
        return session

    def act(self, action: Callable[[], object], done: str | None = None) -> None:
        """Run `action` and wait until a script run has ended since, the page is idle and
        the JavaScript `done` (a function body over `metric(label)` and `text(s)`) holds."""
        runs = self.page.evaluate(
            "window.__benchT = {start: performance.now()}; window.__benchRuns || 0"
        )
        before, busy = self.received, self._busy()
        action()
        self.page.wait_for_function(_IDLE, arg=[runs, done], polling=50, timeout=STEP_TIMEOUT_MS)
        self.last_bytes = self.received - before
        self.last_busy = self._busy() - busy
        t = self.page.evaluate("[window.__benchT, performance.now()]")
        marks, end = t[0] or {}, t[1]
        start = marks.get("start", end)  # a goto starts a new document: no marks
        running, idle = marks.get("running", start), marks.get("idle", end)
        self.last_split = ((running - start) / 1e3, (idle - running) / 1e3, (end - idle) / 1e3)

    def _busy(self) -> float:
        if self.cdp is None:
            return 0.0
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

    def _count(self, payload: str | bytes) -> None:
        self.received += len(payload)

    def rerun(self) -> None:
        """An empty rerun, as a person asks for one: the "r" key outside any input (the
        app's viewer toolbar has no Rerun item)."""
        self.page.get_by_test_id("stMain").focus()
        self.act(lambda: self.page.keyboard.press("r"))

    def key(self, key: str) -> Any:
        """The element of a widget by its Streamlit key (its container's st-key-* class)."""
        return self.page.locator(f".st-key-{key}")

    def click(self, key: str, done: str | None = None) -> None:
        self.act(lambda: self.key(key).locator("button").first.click(), done)

    def fill(self, key: str, text: str, done: str | None = None) -> None:
        """Type `text` and press Enter; no wait for a run when the box holds it already
        (Streamlit sends nothing for an unchanged value)."""
        box = self.key(key).locator("input")
        if box.input_value() == text:
            return
        self.act(lambda: (box.fill(text), box.press("Enter")), done)

    def choose(self, key: str, option: str) -> None:
        """Pick `option` in a selectbox (nothing to wait for when it is picked already)."""
        box = self.key(key).locator('[data-testid="stSelectbox"]')
        if box.locator("input").input_value() == option:
            return

        def pick() -> None:
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            # A list opened while the page redraws can close again (seen once in a 1M-row
            # run: the option never showed and the step waited out its 600 s): open it again.
            for _ in range(PICK_TRIES - 1):
                box.click()
                try:
                    self.page.get_by_role("option", name=option, exact=True).click(
                        timeout=PICK_WAIT_MS
                    )
                    return
                except PlaywrightTimeout:
                    self.page.keyboard.press("Escape")
            box.click()
            self.page.get_by_role("option", name=option, exact=True).click()

        self.act(pick)

    def metric(self, label: str) -> str | None:
        """The value a metric shows, by its label (None: no such metric on the page)."""
        body = json.dumps(_HELPERS + f"return metric({json.dumps(label)});")
        value: str | None = self.page.evaluate(f"() => new Function({body})()")
        return value

    def visible(self, key: str) -> bool:
        return bool(self.key(key).count()) and self.key(key).first.is_visible()
