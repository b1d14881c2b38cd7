"""Prometheus seen in a real browser: headless Chromium (Debian's `chromium`; no
selenium or playwright: `--screenshot` and `--dump-dom` are enough) opens the alerts page
and a graph of SLA compliance by department while the scenario of test_prometheus_live.py
runs, saves a screenshot of each (in .artifacts/browser-alerts/, printed), and reads
from the rendered DOM that the alert fires, by name, and that the graph's legend holds the
departments Prometheus returns.

The DOM checks read the classic pages Debian's Prometheus serves (under /classic)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from kit.settings import REPO
from test_prometheus_live import live_pipeline

from devstack.prometheus import dashboard_queries, wait_for

SLA_PANEL = "SLA compliance by department (worst district)"


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not on PATH: run scripts/system-deps.sh (it installs "
                    "Debian's chromium package), then run the tests again")
    return found


def chromium(url: str, profile: Path, *action: str) -> str:
    """One headless run. --virtual-time-budget lets the page's scripts fetch and draw
    before the DOM is dumped or the screenshot taken. --no-sandbox: as root (CI),
    Chromium refuses to start with its sandbox."""
    result = subprocess.run(
        [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1280,1400",
         "--virtual-time-budget=8000", *action, url],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def live(services, tmp_path_factory):
    with live_pipeline(services, tmp_path_factory.mktemp("browser-alerts"),
                       "browser-alerts") as running:
        if not running.api.page("alerts").endswith("/classic/alerts"):
            pytest.fail("the DOM checks read Debian's classic Prometheus pages")
        yield running


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """.artifacts/browser-alerts/ in the checkout (kept after the run, for a person or CI
    to look at; pytest's own temporary folders rotate away within a few runs). The folder
    ignores itself in git."""
    folder = REPO / ".artifacts" / "browser-alerts"
    folder.mkdir(parents=True, exist_ok=True)
    (REPO / ".artifacts" / ".gitignore").write_text("*\n")
    return folder


def _alert_block(dom: str, name: str) -> tuple[str, str]:
    """(the classes of the alert's header row, its rows up to the next alert)."""
    header = re.search(r'<tr class="([^"]*alert_header[^"]*)">\s*<td>[^\n]*<b>'
                       + re.escape(name) + r"</b>", dom)
    assert header, f"{name} is not on the alerts page"
    following = dom.find("alert_header", header.end())
    return header[1], dom[header.end():following if following > 0 else len(dom)]


@pytest.fixture
def profile(tmp_path) -> Path:
    """Chromium's profile: a throwaway one, never the user's."""
    return tmp_path / "chromium"


def test_the_alerts_page_shows_the_firing_alert(live, artifacts, profile):
    firing = wait_for(lambda: live.alerts("OverdueAtStateLevel"), 60,
                      "OverdueAtStateLevel firing")
    department = firing[0]["labels"]["department"]
    url = live.api.page("alerts")
    shot = artifacts / "alerts.png"
    chromium(url, profile, f"--screenshot={shot}")
    print(f"\nscreenshot of {url}: {shot}")
    assert shot.stat().st_size > 10_000

    dom = chromium(url, profile, "--dump-dom")
    classes, rows = _alert_block(dom, "OverdueAtStateLevel")
    assert "alert-danger" in classes.split()  # the page's colour for a firing rule
    assert re.search(r'class="[^"]*state_indicator[^"]*">firing<', rows)
    assert f'department="{department}"' in rows
    # and a rule that does not fire is shown as such
    quiet_classes, _ = _alert_block(dom, "ConsumerLagHigh")
    assert "alert-success" in quiet_classes.split()


def test_a_graph_of_sla_compliance_by_department(live, artifacts, profile):
    expr = next(q.expr for q in dashboard_queries() if q.panel == SLA_PANEL)
    series = wait_for(lambda: live.api.query(expr), 60, "SLA compliance by department")
    departments = {s["metric"]["department"] for s in series}
    url = live.api.graph_link(expr, "15m")
    shot = artifacts / "sla-compliance.png"
    chromium(url, profile, f"--screenshot={shot}")
    print(f"\nscreenshot of {url}: {shot}")
    assert shot.stat().st_size > 10_000

    dom = chromium(url, profile, "--dump-dom")
    legend = re.findall(r'<span class="label">\{department="([^"]+)"\}</span>', dom)
    assert legend, "no series drawn in the graph's legend"
    assert set(legend) <= departments and len(set(legend)) >= len(departments) // 2
