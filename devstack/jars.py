"""Apache Kafka's broker jars, resolved once from Maven Central into a git-ignored cache."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from devstack.process import ServiceError, say

STAMP = "resolved.ok"


def kafka_lib_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir.resolve() / f"kafka-{version}" / "libs"


def ensure_kafka_jars(cache_dir: Path, version: str) -> Path:
    """Return the folder holding the Kafka jars, resolving them with Maven on first use."""
    libs = kafka_lib_dir(cache_dir, version)
    if (libs / STAMP).exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            "Maven (mvn) is needed once to fetch the Apache Kafka jars from Maven Central; "
            "install it (Debian: apt-get install maven) "
            "or point KAFKA_BOOTSTRAP_SERVERS at a running broker."
        )
    work = libs.parent
    work.mkdir(parents=True, exist_ok=True)
    template = resources.files("devstack.resources").joinpath("kafka-runtime.pom.xml").read_text()
    pom = work / "pom.xml"
    pom.write_text(template.replace("@KAFKA_VERSION@", version))
    staging = work / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    say(f"resolving Apache Kafka {version} jars from Maven Central (first run only) ...")
    result = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServiceError(
            f"Maven could not resolve org.apache.kafka:kafka_2.13:{version}:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    jars = sorted(staging.glob("*.jar"))
    if not any(j.name.startswith("kafka_2.13-") for j in jars):
        raise ServiceError(f"Maven finished but no kafka_2.13 jar is in {staging}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (libs / STAMP).write_text(f"{version}\n")
    say(f"cached {len(jars)} jars in {libs}")
    return libs
