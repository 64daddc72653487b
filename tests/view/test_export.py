import io
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from fnosweep.diagnose import diagnose
from fnosweep.errors import FnosweepError
from fnosweep.history import read_history
from fnosweep.store import Store
from fnosweep.view import export, frames

runner = CliRunner()


def invoke(app, *args):
    return runner.invoke(app, ["trials", *map(str, args)])


def test_trials_csv_to_stdout_is_one_row_per_trial(app, sweep_url):
    result = invoke(app, sweep_url, "--study", "synthetic")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 41 and {"number", "state", "verdict", "objective", "epochs", "param.training.lr"} <= set(
        table.columns
    )


def test_epochs_csv_keeps_nan_apart_from_unmeasured(app, sweep_url, tmp_path, ref):
    out = tmp_path / "e.csv"
    result = invoke(app, sweep_url, "--study", "synthetic", "--epochs", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == sum(len(v) for v in ref.store.epochs(ref.name).values())
    diverged = next(r.number for r in ref.store.trials(ref.name) if r.verdict == "diverged")
    last = table[table["number"] == diverged].iloc[-1]
    assert last["train_loss"] == "nan" and last["grad_norm.first"] == ""  # measured NaN; not measured


def test_parquet_round_trips_and_needs_a_file(app, sweep_url, tmp_path):
    out = tmp_path / "t.parquet"
    assert (
        invoke(app, sweep_url, "--study", "synthetic", "--epochs", "--format", "parquet", "--out", out).exit_code == 0
    )
    assert len(pd.read_parquet(out)) == len(frames.load(sweep_url, "synthetic").epochs)
    result = invoke(app, sweep_url, "--study", "synthetic", "--format", "parquet")
    assert isinstance(result.exception, FnosweepError) and "give --out" in str(result.exception)


def test_json_is_the_history_format_that_diagnose_reads(app, sweep_url, tmp_path, ref):
    result = invoke(app, sweep_url, "--study", "synthetic", "--format", "json", "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "h").iterdir())
    assert [f.name for f in files[:2]] == ["trial_0000.jsonl", "trial_0001.jsonl"] and len(files) == 41
    healthy = next(r.number for r in ref.store.trials(ref.name) if r.verdict == "healthy" and r.state == "COMPLETE")
    history = read_history(tmp_path / "h" / f"trial_{healthy:04d}.jsonl")
    assert history == frames.history_of(ref, healthy)
    assert diagnose(history).verdict in ("healthy", "learning_slowly", "plateau")


def test_json_of_one_trial_goes_to_stdout(app, sweep_url, ref):
    result = invoke(app, sweep_url, "--study", "synthetic", "--format", "json", "--trial", 1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith('{"kind": "run"') and len(lines) == 1 + len(ref.store.epochs(ref.name, [1])[1])
    assert "NaN" in result.stdout or all(math.isfinite(r.train_loss) for r in ref.store.epochs(ref.name, [1])[1])


def test_json_of_every_trial_needs_a_directory(app, sweep_url, tmp_path):
    result = invoke(app, sweep_url, "--study", "synthetic", "--format", "json")
    assert isinstance(result.exception, FnosweepError) and "--out DIR" in str(result.exception)
    (tmp_path / "f").write_text("")
    result = invoke(app, sweep_url, "--study", "synthetic", "--format", "json", "--out", tmp_path / "f")
    assert "is not a directory" in str(result.exception)


def test_a_knob_of_mixed_kinds_still_exports(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    store = Store.open(url)
    store.put_study("m", fingerprint="x", space={}, spec={})
    for n, value in enumerate([None, 0.5, "auto"]):
        store.start_trial("m", n, params={"training.clip_threshold": value})
        store.finish_trial("m", n, state="COMPLETE", value=0.1 * (n + 1))
    store.close()
    table = export.arrow_of(frames.load(url, "m").trials)
    assert table.column("param.training.clip_threshold").to_pylist() == [None, "0.5", "auto"]
    with pytest.raises(FnosweepError, match="cannot write"):
        export.write_table(table, "csv", tmp_path / "missing" / "x" / ".." / ".." / "m.db" / "t.csv")
