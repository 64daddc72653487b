"""The report as a person sees it: rendered by headless Chromium, every figure drawn, no JS error."""

from __future__ import annotations

import math
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


# Run inside the page once plotly has drawn: the figures' data and axes as plotly.js holds
# them, and what opening a trial's section (by its link, as the trials table does) shows.
PROBE = """
<script>
window.addEventListener('load', function(){
  function figure(id){
    var gd = document.getElementById(id), axes = {};
    Object.keys(gd._fullLayout).filter(function(k){ return /^yaxis\\d*$/.test(k); }).forEach(function(k){
      axes[k] = {range: gd._fullLayout[k].range, type: gd._fullLayout[k].type};
    });
    return {axes: axes, traces: gd._fullData.map(function(t){
      return {name: t.name, yaxis: t.yaxis || 'y', y: Array.from(t.y || []),
              symbol: t.marker && t.marker.symbol ? [].concat(t.marker.symbol) : []};
    })};
  }
  setTimeout(function(){
    location.hash = '#trial-__TRIAL__';
    setTimeout(function(){
      var d = document.getElementById('trial-__TRIAL__');
      var out = {curves: figure('fig-curves'), gradients: figure('fig-gradients'),
                 section: {open: d.open, text: d.innerText,
                           drawn: !!d.querySelector('.trial-fig.js-plotly-plot .main-svg')}};
      var pre = document.createElement('pre');
      pre.id = 'probe';
      pre.textContent = JSON.stringify(out, function(k, v){ return typeof v === 'number' && !isFinite(v) ? null : v; });
      document.body.appendChild(pre);
    }, 1500);
  }, 1500);
});
</script>
"""


def probe(tmp_path: Path, page: Path, trial: int) -> dict:
    import html
    import json

    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE.replace("__TRIAL__", str(trial)) + "</body>"))
    run = chromium(tmp_path, "--window-size=1400,2000", "--dump-dom", probed.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    return json.loads(html.unescape(found[1]))


def share_of_axis(values, axis) -> float:
    v = [math.log10(x) if axis["type"] == "log" else x for x in values if x is not None and x > 0]
    lo, hi = axis["range"]
    return (max(v) - min(v)) / (hi - lo)


def test_a_diverged_trial_neither_squashes_the_best_curves_nor_vanishes(sweep_url, page, tmp_path):
    from fnosweep.view import frames

    trials = frames.load(sweep_url, "synthetic").trials
    diverged = int(trials[trials["verdict"] == "diverged"].sort_values("epochs")["number"].iloc[-1])
    data = probe(tmp_path, page, diverged)

    curves = data["curves"]
    for axis_key in ("yaxis", "yaxis2", "yaxis3"):  # train loss, eval L2, eval H1
        axis = curves["axes"][axis_key]
        best = [v for t in curves["traces"] if t["name"].startswith("best") and _on(t, axis_key) for v in t["y"]]
        assert share_of_axis(best, axis) > 0.6, (axis_key, axis)  # the best curves fill the axis
        drawn = [t for t in curves["traces"] if t["name"].startswith("diverged") and _on(t, axis_key)]
        line = next(t for t in drawn if "x" not in t["symbol"])
        marks = next(t for t in drawn if "x" in t["symbol"])
        assert any(v is not None for v in line["y"])  # drawn up to its last finite value
        # its last finite value (1e8 or 3e7, before NaN) is marked, on the top edge of the axis
        end = marks["y"][marks["symbol"].index("x")]
        lo, hi = axis["range"]
        assert hi - 0.1 * (hi - lo) < math.log10(end) < hi
    grads = data["gradients"]
    stable = grads["axes"]["yaxis"]  # grad norm median: the 1e12 of the diverged run does not set the axis
    assert 10 ** stable["range"][1] < 1e6
    marks = [t for t in grads["traces"] if t["name"] == "off the axis / last finite"]
    assert marks and "x" in marks[0]["symbol"]

    section = data["section"]
    assert section["open"] and section["drawn"]
    assert f"trial {diverged} (PRUNED)" in section["text"] and "diverged" in section["text"]


def _on(trace: dict, axis_key: str) -> bool:
    return trace["yaxis"] == axis_key.replace("yaxis", "y")


DASHBOARD_WIDTH = 1280
"""A laptop's browser window: optuna-dashboard lays custom figures out two per row, 450 px high."""


@pytest.fixture
def dashboard_page(sweep_url, tmp_path):
    """optuna-dashboard serving a copy of the shared sweep with fnosweep's figures published."""
    import sqlite3

    import optuna

    from fnosweep.testing.dashboard import served_dashboard
    from fnosweep.view import dashboard, frames

    db = tmp_path / "d.db"
    with sqlite3.connect(sweep_url.removeprefix("sqlite:///")) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # the WAL's pages too: a file copy would miss them
    url = f"sqlite:///{db}"
    loaded = frames.load(url, "synthetic")
    study = optuna.load_study(study_name="synthetic", storage=url)
    spec = {"study": {"metric": "eval.32_l2", "direction": "minimize"}, "training": {"epochs": 12}}
    dashboard.publish_sweep(study, conclusion_markdown="# Sweep conclusion",
                            figures=dashboard.sweep_figures(loaded.trials, loaded.epochs, spec))  # fmt: skip
    with served_dashboard(url) as port:
        yield f"http://127.0.0.1:{port}/dashboard/studies/{study._study_id}"


def test_dashboard_figures_fit_their_panels(dashboard_page, tmp_path):
    png = tmp_path / "dashboard.png"
    run = chromium(tmp_path, f"--window-size={DASHBOARD_WIDTH},3000", f"--screenshot={png}", "--dump-dom",
                   dashboard_page)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    keys = ("stability-map", "objective", "gradients", "clipping", "layer-groups", "pruning")
    for key in keys:
        start = dom.index(f'id="user-defined-plot:fnosweep-{key}"')
        figure = dom[start : start + 3000]
        size = re.search(r'<svg class="main-svg"[^>]*width="(\d+)" height="(\d+)"', figure)
        assert size, f"{key}: plotly did not draw"
        width, height = map(int, size.groups())
        assert height <= 450 and width <= DASHBOARD_WIDTH // 2, (key, width, height)  # inside its box
    assert png.stat().st_size > 50_000
