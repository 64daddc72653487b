"""The report as a person sees it: rendered by headless Chromium, every figure drawn, no JS error."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fnosweep.store.refs import find_study
from fnosweep.view.report import make_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
FIGURES = ("objective", "stability", "parallel", "curves", "gradients", "groups", "updates", "pruning", "importance")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No network, no profile, software GL for the parallel-coordinates plot (WebGL); a virtual
    # time budget lets plotly finish drawing before the DOM is dumped or the screenshot taken.
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def page(sweep_url, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    ref = find_study(sweep_url, "synthetic")
    make_report(ref, out)
    ref.store.close()
    return out


def test_every_figure_draws_without_js_errors(page, tmp_path):
    png = tmp_path / "report.png"
    run = chromium(tmp_path, "--window-size=1400,3000", f"--screenshot={png}", "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line and re.search(r"Uncaught|Error", line)]
    assert errors == []
    dom = run.stdout
    for key in FIGURES:
        start = dom.index(f'id="fig-{key}"')
        end = dom.find('id="fig-', start + 1)
        figure = dom[start : end if end > 0 else len(dom)]
        assert "js-plotly-plot" in figure[:200], f"{key}: plotly did not draw"
        assert "main-svg" in figure and re.search(r'class="(trace|bars|cartesianlayer|parcoords)', figure), key
    assert png.stat().st_size > 100_000  # a page with pictures, not a blank one
