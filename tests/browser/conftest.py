"""Browser tests: the real gateway (`run.py`) in a subprocess and Debian's Chromium driven by
Playwright's sync API (see shared/BROWSER_TESTS.md).

Fixtures:

- `start_gateway(extra_toml="", env=None) -> GatewayProcess`: a gateway per call, stopped
  at the test's end; `gateway`: one with the default settings, or with
  `@pytest.mark.parametrize("gateway", [toml or {"extra_toml": ..., "env": ...}], indirect=True)`.
- `browser` (one Chromium for all the tests in this folder), `new_page(...)`, `page` (1280x800),
  `phone_page` (390x844, mobile and touch), `shot(page, name)`.

When a test fails: each page's full-page screenshot and console log, and the named step
shots, go to `test-artifacts/<test>*.png|.log`; each gateway's log tail is added to the
report. Synchronous on purpose: Playwright's sync API cannot run inside an asyncio loop."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.browser.gateway_process import GatewayProcess
from tests.sim import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPECT_TIMEOUT_MS = 10_000  # Playwright's expect(): ~10 s for a 2-core CI machine
ACTION_TIMEOUT_MS = 10_000  # clicks, fills, goto
IN_CI = os.environ.get("CI") == "true"
INSTALL_HINT = (
    "install Debian's Chromium: apt-get update && DEBIAN_FRONTEND=noninteractive "
    "apt-get install -y --no-install-recommends chromium; and Playwright: "
    ".venv/bin/pip install -e '.[test]' (never `playwright install`)"
)

try:
    import playwright.sync_api  # noqa: F401
except ImportError:  # the test modules import it: do not collect them at all
    if IN_CI:
        raise
    collect_ignore_glob = ["test_*.py", "*/test_*.py"]

StartGateway = Callable[..., GatewayProcess]
NewPage = Callable[..., "Page"]
Shot = Callable[["Page", str], None]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_GATEWAYS = pytest.StashKey[list[GatewayProcess]]()
_CONSOLES = pytest.StashKey[list[list[str]]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser/ is marked `browser` (`-m "not browser"` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report (fixtures read it at teardown), and add the gateways' log
    tails and the pages' console logs to a failed test's report."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.failed and report.when in ("setup", "call"):
        gateways: list[GatewayProcess] = item.stash.get(_GATEWAYS, [])
        consoles: list[list[str]] = item.stash.get(_CONSOLES, [])
        for n, gw in enumerate(gateways, 1):
            report.sections.append((f"gateway {n} log ({gw.base_url})", gw.log_tail(80)))
        for n, console in enumerate(consoles, 1):
            if console:
                report.sections.append((f"page {n} console", "\n".join(console[-80:])))
    return report


def failed(node: pytest.Item) -> bool:
    reports = node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def artifact_name(node: pytest.Item) -> str:
    """`test_harness.py::test_x[a b]` -> `test_harness.test_x-a_b_`."""
    name = f"{node.path.stem}.{node.name}"
    return re.sub(r"[^\w.-]+", "_", name.replace("[", "-").replace("]", ""))


@pytest.fixture
def no_leaked_tasks() -> None:
    """tests/conftest.py's guard is an async fixture; these tests are synchronous (no loop
    may run around Playwright's sync API), and their gateway runs in another process."""


# -- the gateway ------------------------------------------------------------------------------


@pytest.fixture
def start_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StartGateway]:
    """`start_gateway(extra_toml="", env=None)`: run.py on a free port, healthy. The extra
    TOML is merged over the test settings (tables the base has too are merged key by key);
    `env` adds to or (with None) removes from its environment. Stopped at the test's end."""
    started = request.node.stash.setdefault(_GATEWAYS, [])

    def start(extra_toml: str = "", env: Mapping[str, str | None] | None = None) -> GatewayProcess:
        folder = tmp_path / f"gateway{len(started) + 1}"
        gw = GatewayProcess(folder, extra_toml, env)
        started.append(gw)
        return gw.start()

    yield start
    for gw in reversed(started):
        gw.stop()


@pytest.fixture
def gateway(request: pytest.FixtureRequest, start_gateway: StartGateway) -> GatewayProcess:
    """A fresh gateway (about a second). Indirect parametrization passes settings:
    a TOML string, or {"extra_toml": str, "env": {...}}."""
    param = getattr(request, "param", "")
    if isinstance(param, Mapping):
        return start_gateway(param.get("extra_toml", ""), param.get("env"))
    return start_gateway(str(param))


# -- the browser ------------------------------------------------------------------------------


def _unavailable(reason: str) -> NoReturn:
    message = f"browser tests need Chromium and Playwright: {reason}; {INSTALL_HINT}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's sync driver, for this folder's tests only: while it is started it marks
    its own asyncio loop as the running one, and the rest of the suite's async tests then
    fail with "cannot be called from a running event loop". So not session-scoped: it is
    stopped as soon as the last test under tests/browser/ is done."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        _unavailable(f"cannot import playwright ({exc})")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One Chromium for all the tests under tests/browser/ (each test gets its own contexts)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no {CHROMIUM}")
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, start_gateway: StartGateway
) -> Iterator[NewPage]:
    """`new_page(width=1280, height=800, **context_options) -> Page`: a page in a fresh
    context (own storage, cookies); e.g. an agent and a supervisor side by side. At the end
    of a failed test each page's screenshot and console log go to test-artifacts/.

    (It depends on `start_gateway` only so that the gateways stop after the pages are
    photographed and closed, whatever order a test names its fixtures in.)"""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    opened: list[tuple[Page, list[str]]] = []
    consoles = request.node.stash.setdefault(_CONSOLES, [])

    def open_page(width: int = 1280, height: int = 800, **options: Any) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        console: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            where = message.location.get("url")
            console.append(f"[{message.type}] {message.text}" + (f" ({where})" if where else ""))

        page.on("console", on_console)
        page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
        page.on(
            "requestfailed",
            lambda r: console.append(f"[requestfailed] {r.method} {r.url}: {r.failure}"),
        )
        opened.append((page, console))
        consoles.append(console)
        return page

    yield open_page
    keep = failed(request.node)
    name = artifact_name(request.node)
    for n, (page, console) in enumerate(opened, 1):
        suffix = "" if n == 1 else f".page{n}"
        if keep:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / f"{name}{suffix}.log").write_text(
                f"url: {page.url}\n" + "\n".join(console) + "\n"
            )
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
            except Exception as exc:  # a crashed page: the log is still worth keeping
                with (ARTIFACTS / f"{name}{suffix}.log").open("a") as log:
                    log.write(f"no screenshot: {exc}\n")
        page.context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A desktop page (1280x800) in its own context."""
    return new_page()


@pytest.fixture
def phone_page(new_page: NewPage) -> Page:
    """A phone-sized page (390x844, mobile viewport and touch) in its own context."""
    return new_page(390, 844, is_mobile=True, has_touch=True)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[Shot]:
    """`shot(page, "accepted")`: a full-page screenshot of a step, kept (as
    test-artifacts/<test>.01-accepted.png, ...) only if the test fails."""
    taken: list[tuple[str, bytes]] = []

    def take(page: Page, step: str) -> None:
        taken.append((step, page.screenshot(full_page=True)))

    yield take
    if taken and failed(request.node):
        ARTIFACTS.mkdir(exist_ok=True)
        name = artifact_name(request.node)
        for n, (step, png) in enumerate(taken, 1):
            label = re.sub(r"[^\w.-]+", "_", step)
            (ARTIFACTS / f"{name}.{n:02d}-{label}.png").write_bytes(png)
