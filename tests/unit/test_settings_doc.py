"""docs/settings.md is generated from the settings' declarations and must not drift."""

from __future__ import annotations

from dataclasses import fields

from streams.settings import DOC_PATH, GROUPS, Settings, settings_markdown, write_settings_doc

REGENERATE = ".venv/bin/python -m streams.settings"


def test_the_settings_reference_matches_the_code():
    assert DOC_PATH.is_file(), f"{DOC_PATH} is missing; generate it with: {REGENERATE}"
    written = DOC_PATH.read_text(encoding="utf-8")
    assert written == settings_markdown(), (
        f"{DOC_PATH} is out of date with streams/settings.py; regenerate it with: {REGENERATE}")


def test_every_setting_has_one_row_under_its_group():
    text = settings_markdown()
    for f in fields(Settings):
        name = f.metadata["env"]
        rows = [line for line in text.splitlines() if line.startswith(f"| `{name}`")]
        assert len(rows) == 1, name
        assert f.metadata["doc"] in rows[0]
        assert ("(secret; or " in rows[0]) == f.metadata["secret"], name
        assert text.index(f"## {f.metadata['group']}\n") < text.index(rows[0])
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [g for g in GROUPS if any(f.metadata["group"] == g
                                                 for f in fields(Settings))]


def test_the_reference_shows_the_defaults_people_need():
    text = settings_markdown()
    assert "| `DATABASE_URL` | `postgresql://sankalp@127.0.0.1:55432/sankalp` |" in text
    assert "| `SANKALP_SESSION_TIMEOUT_SECONDS` | `15` |" in text
    assert "| `SANKALP_COMMIT_INTERVAL_SECONDS` | `0.1` |" in text
    assert "| `SANKALP_TOPIC_PREFIX` | empty |" in text
    assert "| `KAFKA_SSL_CA_FILE` | the system's trust store |" in text


def test_the_generator_writes_where_it_is_told(tmp_path):
    path = write_settings_doc(tmp_path / "docs" / "settings.md")
    assert path.read_text(encoding="utf-8") == settings_markdown()
