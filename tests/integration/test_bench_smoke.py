"""The benchmark at its smallest scale, so it cannot rot. No timing is asserted here:
speed targets live in the bench's own report."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import run


def test_bench_smoke_writes_json_markdown_and_plot(test_settings, tmp_path):
    results = run(test_settings, "smoke", tmp_path / "out", tmp_path / "work")
    json_file, md_file, png_file = (Path(f) for f in results["files"])
    data = json.loads(json_file.read_text())
    assert data["failed_stages"] == [], data["failed_stages"]
    for section in ("raw", "bare_faust", "bare_faust_no_table", "throughput", "two_workers",
                    "latency@50", "escalations", "backtest", "sink", "pendency", "replay",
                    "http_intake"):
        assert section in data, section
        assert "error" not in data[section], (section, data[section])
    assert data["ratios_to_bare_faust"]["pipeline_agent_events"] > 0
    assert data["throughput"]["complaints"] == 300
    assert data["escalations"]["escalated"] == 200  # every open complaint escalated once
    assert data["sink"]["rows"] >= 600  # a state row and an assignment per complaint
    # the written pendency was recovered whole, and its burst escalated
    pendency = data["pendency"]
    assert pendency["indexed"] >= pendency["open_complaints"] - pendency["burst"]["size"]
    assert pendency["burst"]["escalations"] >= pendency["burst"]["size"]
    assert data["replay"]["two_days_complaints"] > 0
    assert data["http_intake"]["not_201"] == 0 and data["http_intake"]["max_requests_per_s"] > 0
    assert data["machine"]["cpus"] and data["machine"]["versions"]["faust-streaming"] != "-"
    assert "| target | value | met |" in md_file.read_text()
    assert png_file.read_bytes().startswith(b"\x89PNG")
