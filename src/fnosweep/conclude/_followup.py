"""`fnosweep diagnose --suggest FILE`: a follow-up spec narrowed to the stable region."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fnosweep.conclude._narrow import settle_conditions
from fnosweep.errors import FnosweepError


def followup_spec(spec: Mapping[str, Any], space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The study's spec with its search space replaced by `space`, under a new study name."""
    doc = copy.deepcopy(dict(spec))
    study = doc.setdefault("study", {})
    study["name"] = f"{study.get('name', 'sweep')}_next"
    if "storage" in study:
        study["storage"] = str(study["storage"]).replace(f"{spec['study']['name']}.db", f"{study['name']}.db")
    searched = dict(doc.get("search", {}))
    for key, narrowed in space.items():
        old = searched.get(key, {})
        keep_when = "when" in old and "when" not in narrowed  # space built without the spec
        searched[key] = {**narrowed, **({"when": old["when"]} if keep_when else {})}
    # narrowed parents: a condition that can no longer hold would make the spec invalid
    doc["search"] = settle_conditions(searched)
    return doc


def write_followup_spec(path: Path, spec: Mapping[str, Any], space: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the follow-up spec atomically (a crash leaves no half file)."""
    if not spec:
        raise FnosweepError("--suggest needs the study's spec, and this study was not run by fnosweep")
    text = "# Follow-up sweep written by `fnosweep diagnose --suggest`: the stable region of the last one.\n"
    text += yaml.safe_dump(followup_spec(spec, space), sort_keys=False, default_flow_style=None)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as e:
        raise FnosweepError(f"cannot write {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
