"""The settings object: one name, one default and one parser per setting."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from streams.settings import GROUPS, Settings, SettingsError


def test_defaults_point_at_the_local_stack():
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.database_url == "postgresql://sankalp@127.0.0.1:55432/sankalp"
    assert settings.table_store == "rocksdb://"
    assert settings.topic("complaints") == "complaints"


def test_environment_overrides_and_types():
    settings = Settings.from_env({
        "KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
        "SANKALP_TOPIC_PARTITIONS": "12",
        "SANKALP_TOPIC_PREFIX": "staging.",
        "SANKALP_WORKER_DATA_DIR": "/var/lib/sankalp",
        "DATABASE_URL": "postgresql://u:p@db:5432/grievance",
        "SANKALP_APP_ID": "",  # empty means unset
    })
    assert settings.kafka_bootstrap_servers == "b1:9092,b2:9092"
    assert settings.topic_partitions == 12
    assert settings.worker_data_dir == Path("/var/lib/sankalp")
    assert settings.topic("complaints") == "staging.complaints"
    assert settings.app_id == "sankalp"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SANKALP_TOPIC_PARTITIONS": "six"}, "SANKALP_TOPIC_PARTITIONS must be an integer"),
        ({"SANKALP_TOPIC_PARTITIONS": "0"}, "SANKALP_TOPIC_PARTITIONS must be at least 1"),
        ({"SANKALP_TABLE_STORE": "rocksdb"}, "SANKALP_TABLE_STORE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ],
)
def test_bad_values_are_named_in_the_error(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_every_field_has_an_environment_name():
    assert {f.name for f in fields(Settings)} == set(Settings.ENV_NAMES)


def test_every_setting_is_declared_once_with_its_name_default_and_description():
    for f in fields(Settings):
        assert f.metadata.get("env"), f.name
        assert f.metadata.get("doc", "").strip(), f.name
        assert f.metadata.get("group") in GROUPS, f.name
        assert "\n" not in f.metadata["doc"], f"{f.name}: the description is one line"
        assert Settings.ENV_NAMES[f.name] == f.metadata["env"]
    names = [f.metadata["env"] for f in fields(Settings)]
    assert len(names) == len(set(names)), "an environment name is used twice"
    secrets = {"kafka_sasl_password", "kafka_ssl_key_password", "database_password",
               "citizen_ref_key"}
    assert secrets == Settings.SECRETS
    # fault injection is the test kit's (tests/kit/failpoints.py), not a setting
    assert "failpoints" not in Settings.ENV_NAMES


def test_defaults_round_trip_through_a_child_environment():
    defaults = Settings()
    env = defaults.to_env()
    secret_files = {f"{Settings.ENV_NAMES[name]}_FILE" for name in Settings.SECRETS}
    assert set(env) == set(Settings.ENV_NAMES.values()) | secret_files
    assert Settings.from_env(env) == defaults == Settings.from_env({})


def test_changed_values_round_trip_through_a_child_environment(tmp_path):
    changed = Settings.from_env({
        "SANKALP_TOPIC_PARTITIONS": "12", "SANKALP_COMMIT_INTERVAL_SECONDS": "0.5",
        "SANKALP_WORKER_DATA_DIR": str(tmp_path), "SANKALP_HOLIDAYS": "2026-01-26",
        "SANKALP_CITIZEN_REF_KEY": "k", "DATABASE_PASSWORD": "pw",
        "SANKALP_WEEKLY_OFFS": "none",
    })
    assert Settings.from_env(changed.to_env()) == changed


def test_importing_the_settings_reads_no_environment():
    """A bad value fails in from_env, when a process asks for its settings, not at import."""
    script = "import streams.settings, streams.security; print('imported')"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "SANKALP_TOPIC_PARTITIONS": "six"},
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and out.stdout.strip() == "imported", out.stderr


def test_calendar_and_policy_come_from_the_environment():
    settings = Settings.from_env({"SANKALP_WEEKLY_OFFS": "none",
                                  "SANKALP_HOLIDAYS": "2026-01-26, 2026-08-15",
                                  "SANKALP_SLA_WARNING_FRACTIONS": "0.25,0.9",
                                  "SANKALP_TRANSFER_CAP": "4"})
    calendar = settings.calendar()
    assert calendar.weekly_offs == frozenset()
    assert len(calendar.holidays) == 2
    policy = settings.policy()
    assert policy.warning_fractions == (0.25, 0.9) and policy.transfer_cap == 4
    with pytest.raises(SettingsError, match="SANKALP_HOLIDAYS"):
        Settings.from_env({"SANKALP_HOLIDAYS": "26/01/2026"})
    with pytest.raises(SettingsError, match="SANKALP_UNREACHABLE_RULE"):
        Settings.from_env({"SANKALP_UNREACHABLE_RULE": "close_anyway"})
