import re

import pytest
from typer.testing import CliRunner

from fnosweep.errors import FnosweepError
from fnosweep.store.refs import find_study
from fnosweep.testing.synthetic_sweep import build_sweep
from fnosweep.view.report import make_report

runner = CliRunner()


@pytest.fixture(scope="module")
def report_html(app, sweep_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "r.html"
    result = runner.invoke(app, ["report", sweep_url, "--study", "synthetic", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(\d+\.\d MB, 41 trials\)\n", result.output)
    return out.read_text()


def test_report_is_one_self_contained_file(report_html):
    assert report_html.count("plotly.js v") == 1  # the library, embedded once
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", report_html)  # nothing fetched when opened
    assert report_html.count('class="plotly-graph-div"') == 9


def test_report_opens_with_the_sweep_conclusion(report_html):
    body = report_html[report_html.index("<main>") :]
    assert body.index("Sweep conclusion") < body.index('class="plotly-graph-div"')
    assert "Stable and unstable regions" in body and "What to change" in body


def test_report_has_every_section(report_html):
    for key in (
        "conclusion",
        "objective",
        "stability",
        "parallel",
        "curves",
        "gradients",
        "groups",
        "updates",
        "pruning",
        "importance",
        "trials",
    ):
        assert f'<section id="{key}">' in report_html
    assert "RuntimeError: CUDA out of memory &lt;tried to allocate 2 GiB&gt;" in report_html  # reasons escaped


def test_user_text_is_escaped(tmp_path):
    name = "<script>alert(1)</script>"
    url = f"sqlite:///{tmp_path}/x.db"
    build_sweep(url, name, n_trials=6, epochs=4, optuna_study=False)
    ref = find_study(url, name)
    out = make_report(ref, tmp_path / "x.html")
    html = out.path.read_text()
    assert name not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_empty_study_gets_a_report_that_says_so(app, empty_study, tmp_path):
    url = empty_study
    result = runner.invoke(app, ["report", url, "--study", "empty", "--out", str(tmp_path / "e.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "e.html").read_text()
    assert "has no trials yet" in html and "plotly" not in html.lower()


def test_an_unwritable_path_is_one_line_and_leaves_nothing(ref, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(FnosweepError, match=r"^cannot write the report to .*/file/r\.html: [^\n]+$"):
        make_report(ref, tmp_path / "file" / "r.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unknown_study_lists_the_ones_there(app, sweep_url, tmp_path):
    result = runner.invoke(app, ["report", sweep_url, "--study", "nope", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and isinstance(result.exception, FnosweepError)
    assert str(result.exception) == f"no study 'nope' in {sweep_url}; studies there: synthetic"


def test_a_storage_that_does_not_open_is_one_line(app, tmp_path):
    result = runner.invoke(app, ["report", f"sqlite:///{tmp_path}/missing.db", "--study", "x"])
    assert isinstance(result.exception, FnosweepError) and "no such database file" in str(result.exception)


def test_every_trial_has_a_section_with_the_text_of_diagnose_trial(report_html, sweep_url):
    from fnosweep.cli import app as cli
    from fnosweep.view.page import markdown_html

    sections = re.findall(r'<details class=trial id="trial-(\d+)"', report_html)
    assert len(sections) == 41 and len(set(sections)) == 41
    for number in ("0", "7", sections[-1]):
        out = runner.invoke(cli, ["diagnose", sweep_url, "--study", "synthetic", "--trial", number])
        assert out.exit_code == 0, out.output
        start = report_html.index(f'id="trial-{number}"')
        section = report_html[start : report_html.index("</details>", start)]
        assert markdown_html(out.output) in section  # the same text, not a re-rendering
    assert '<a href="#trial-0">0</a>' in report_html  # the trials table opens them


def test_trial_sections_say_state_reason_and_when_a_verdict_is_of_a_stopped_run(report_html):
    pruned = re.search(r'<details class=trial id="trial-\d+" data-trial="\d+"><summary>Trial \d+ · pruned · '
                       r"[a-z_]+ \(as of the epoch it was stopped\)", report_html)  # fmt: skip
    assert pruned is not None
    start = pruned.start()
    assert "<th>prune reason</th>" in report_html[start : report_html.index("</details>", start)]
