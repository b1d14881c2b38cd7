"""The Faust adapter: the one module that touches Faust's private internals, and the
behaviour of those internals it relies on (a faust-streaming upgrade that changes it fails
here, not in a 20-minute fault test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents import faust_adapter
from agents.faust_adapter import (
    COMMIT_CONTRACT,
    PRIVATE_NAMES,
    FaustIncompatible,
    check_faust,
    faust_commit_for,
)

REPO = Path(__file__).resolve().parents[2]
OUR_FOLDERS = ("agents", "core", "schemas", "sinks", "streams", "devstack", "simulator",
               "bench", "tests")
ADAPTER = Path("agents/faust_adapter.py")
THIS = Path(__file__).resolve().relative_to(REPO)  # names them only as test data


def our_modules() -> dict[Path, str]:
    return {path.relative_to(REPO): path.read_text(encoding="utf-8")
            for folder in OUR_FOLDERS for path in (REPO / folder).rglob("*.py")}


def accessed(text: str) -> set[str]:
    """Private attributes read off other objects (`x._name`, not `self._name`)."""
    return set(re.findall(r"(?<!\bself)(?<!\bcls)\.(_[A-Za-z]\w*)", text))


def faust_private_names() -> set[str]:
    import aiokafka
    import faust
    import mode

    names: set[str] = set()
    for package in (faust, aiokafka, mode):
        for path in Path(package.__file__).parent.rglob("*.py"):
            text = path.read_text(encoding="utf-8", errors="ignore")
            names |= set(re.findall(r"self\.(_[A-Za-z]\w*)\s*[:=]", text))
            names |= set(re.findall(r"def (_[A-Za-z]\w*)\(", text))
    return names


@pytest.mark.parametrize(("acked", "committed", "expected"), COMMIT_CONTRACT)
def test_what_faust_proposes_to_commit(acked, committed, expected):
    """The behaviour the commit cap is built on, including the two defects it guards
    against: an offset never handled is committed past (off by one at the head; anything
    before the first ack when nothing was committed)."""
    assert faust_commit_for(acked, committed) == expected


def test_the_installed_faust_passes_the_start_up_check():
    check_faust()


def test_the_start_up_check_says_what_is_wrong(monkeypatch):
    monkeypatch.setattr(faust_adapter, "version", lambda _: "0.99.0")
    with pytest.raises(FaustIncompatible, match=r"faust-streaming 0\.99\.0 is installed"):
        check_faust()
    monkeypatch.setattr(faust_adapter, "version", lambda _: "0.15.3")
    monkeypatch.setattr(faust_adapter, "COMMIT_CONTRACT", (([3, 4], 3, 99),))
    with pytest.raises(FaustIncompatible, match=r"proposes 5 for acks \[3, 4\]"):
        check_faust()


def test_the_adapter_names_every_private_name_it_uses():
    text = (REPO / ADAPTER).read_text(encoding="utf-8")
    assert accessed(text) <= set(PRIVATE_NAMES) | {"_new_offset"}
    for name in PRIVATE_NAMES:
        assert f"``{name}" in text or f"`{name}" in text or f".{name}" in text, name


def test_no_other_module_touches_a_private_faust_name():
    """Every private Faust / aiokafka name is used in agents/faust_adapter.py alone. The
    adapter's own list is checked strictly; beyond it, any private name defined in Faust,
    aiokafka or mode and read off another object (not one our own code defines too)."""
    modules = our_modules()
    ours = set()
    for text in modules.values():
        ours |= set(re.findall(r"self\.(_[A-Za-z]\w*)\s*[:=]", text))
        ours |= set(re.findall(r"def (_[A-Za-z]\w*)\(", text))
    watched = set(PRIVATE_NAMES) | (faust_private_names() - ours)
    offenders = {str(path): sorted(accessed(text) & watched)
                 for path, text in modules.items()
                 if path not in (ADAPTER, THIS) and accessed(text) & watched}
    assert offenders == {}


def test_the_check_would_see_an_access():
    assert accessed("consumer._committed_offset.get(tp)") == {"_committed_offset"}
    assert accessed("app.consumer._thread") == {"_thread"}
    assert accessed("thread._ensure_consumer().committed") == {"_ensure_consumer"}
    assert accessed("self._consumer.poll()") == set()
