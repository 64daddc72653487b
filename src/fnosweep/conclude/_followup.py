"""`fnosweep diagnose --suggest FILE`: a follow-up spec narrowed to the stable region."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fnosweep.conclude._narrow import settle_conditions
from fnosweep.errors import FnosweepError
from fnosweep.files import write_atomic
from fnosweep.urls import redact

STORAGE_VARIABLE = "${FNOSWEEP_STORAGE}"
"""What a follow-up spec holds instead of a storage URL with a password in it."""


def followup_spec(spec: Mapping[str, Any], space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The study's spec with its search space replaced by `space`, under a new study name."""
    doc = copy.deepcopy(dict(spec))
    study = doc.setdefault("study", {})
    study["name"] = f"{study.get('name', 'sweep')}_next"
    if "storage" in study:
        storage = str(study["storage"]).replace(f"{spec['study']['name']}.db", f"{study['name']}.db")
        # a spec file is no place for a password: the study's own ${VAR} is kept, a literal one is not
        study["storage"] = STORAGE_VARIABLE if redact(storage) != storage else storage
    searched = dict(doc.get("search", {}))
    for key, narrowed in space.items():
        old = searched.get(key, {})
        keep_when = "when" in old and "when" not in narrowed  # space built without the spec
        searched[key] = {**narrowed, **({"when": old["when"]} if keep_when else {})}
    # narrowed parents: a condition that can no longer hold would make the spec invalid
    doc["search"] = settle_conditions(searched)
    return doc


def write_followup_spec(path: Path, spec: Mapping[str, Any], space: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Write the follow-up spec atomically (a crash leaves no half file).

    Returns a note for the user when the study's storage URL held a password, which the
    file then names as ${FNOSWEEP_STORAGE} instead."""
    if not spec:
        raise FnosweepError("--suggest needs the study's spec, and this study was not run by fnosweep")
    followup = followup_spec(spec, space)
    text = "# Follow-up sweep written by `fnosweep diagnose --suggest`: the stable region of the last one.\n"
    text += yaml.safe_dump(followup, sort_keys=False, default_flow_style=None)
    try:
        write_atomic(path, text)
    except FnosweepError as e:  # the option's name first: "--suggest: cannot write PATH: why"
        raise FnosweepError(f"--suggest: {e}") from None
    storage = str(spec.get("study", {}).get("storage", ""))
    if followup.get("study", {}).get("storage") == STORAGE_VARIABLE and storage != STORAGE_VARIABLE:
        return (f"{path}: study.storage is {STORAGE_VARIABLE}, as the study's URL ({redact(storage)}) holds a "
                "password; set FNOSWEEP_STORAGE to that URL before running it")
    return None
