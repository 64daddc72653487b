import pytest

from fnosweep.sweep.resume import space_diff, spec_changes

BASE = {
    "study": {"name": "s", "n_trials": 3, "metric": "eval.32_l2", "direction": "minimize", "storage": "sqlite:///a.db"},
    "data": {"resolution": 32}, "training": {"epochs": 10, "clip_threshold": None},
    "execution": {"max_concurrent": 2}, "stability": {"explode_growth": 10.0}, "search": {"x": 1},
}


def changed(**dotted):
    import copy

    doc = copy.deepcopy(BASE)
    for key, value in dotted.items():
        section, field = key.split("__")
        doc[section][field] = value
    return doc


@pytest.mark.parametrize(
    ("new", "defining", "safe"),
    [
        (changed(study__n_trials=5), [], ["study.n_trials: 3 -> 5"]),
        (changed(execution__max_concurrent=4), [], ["execution.max_concurrent: 2 -> 4"]),
        (changed(stability__explode_growth=20.0), [], ["stability.explode_growth: 10.0 -> 20.0"]),
        (changed(study__storage="sqlite:///b.db"), [], []),
        (changed(training__epochs=2), ["training.epochs: 10 -> 2"], []),
        (changed(training__clip_threshold=1.0), ["training.clip_threshold: null -> 1.0"], []),
        (changed(data__resolution=64), ["data.resolution: 32 -> 64"], []),
        (changed(data__root="/elsewhere"), [], ["data.root: null -> /elsewhere"]),  # generated data: same anywhere
        (changed(study__metric="eval.32_h1"), ["study.metric: eval.32_l2 -> eval.32_h1"], []),
        (changed(search__x=2), [], []),  # judged by the fingerprint instead
    ],
)
def test_spec_changes_split_defining_from_safe(new, defining, safe):
    assert spec_changes(BASE, new) == (defining, safe)


def test_a_new_root_of_the_users_own_files_defines_the_trials():
    files = {**BASE, "data": {"problem": "files", "root": "/a"}}
    moved = {**files, "data": {"problem": "files", "root": "/b"}}
    assert spec_changes(files, moved) == (["data.root: /a -> /b"], [])
    generated = {**BASE, "data": {"problem": "darcy", "root": "/a"}}
    moved = {**generated, "data": {"problem": "darcy", "root": "/b"}}
    assert spec_changes(generated, moved) == ([], ["data.root: /a -> /b"])


def test_space_diff_names_each_change():
    old = {"params": {"a": {"low": 1}, "b": {}}}
    new = {"params": {"a": {"low": 2}, "c": {}}}
    assert space_diff(old, new) == ["added c", "removed b", "a: {'low': 1} -> {'low': 2}"]
