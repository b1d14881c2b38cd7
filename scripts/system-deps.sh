#!/usr/bin/env bash
# Makes sure the machine has what the local stack runs on: Python 3.11 with venv, Java 17+
# (the Kafka broker), Maven (fetches the Kafka jars once), PostgreSQL's server binaries,
# Debian's prometheus package (the server `sankalp stack up` starts, and promtool, which the
# alert-rule tests run), chromium (the browser test of the Prometheus pages), kcat and wrk
# (load and wire tools the tests and benchmarks use).
# Installs what is missing with apt-get when it can (root on Debian/Ubuntu); otherwise says
# exactly what to install. Already-present tools are left alone.
set -euo pipefail

missing=()
command -v python3.11 >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ] || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if ! command -v promtool >/dev/null 2>&1 || ! command -v "${SANKALP_PROMETHEUS_BIN:-prometheus}" >/dev/null 2>&1; then
  missing+=(prometheus)
fi
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ -z "${DATABASE_URL:-}" ] && ! command -v initdb >/dev/null 2>&1 \
   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${SANKALP_PG_BIN:-}" ]; then
  missing+=(postgresql)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "[setup] missing system packages: ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing them with apt-get ..."
  apt-get update -qq
  prometheus_before=" $(pgrep -x prometheus 2>/dev/null | tr '\n' ' ' || true) "
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    # The project runs its own Prometheus (`sankalp stack up`, on 9090 by default): stop and
    # disable the system service the package may have started, which would hold that port
    # (only processes that appeared with this install; a Prometheus already running stays).
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1; then
      update-rc.d prometheus disable >/dev/null 2>&1 || true  # sysvinit: not at boot either
    fi
    for pid in $(pgrep -x prometheus 2>/dev/null || true); do
      [[ "$prometheus_before" == *" $pid "* ]] || kill "$pid" 2>/dev/null || true
    done
  fi
else
  echo "[setup] install them with your package manager (e.g. sudo apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
