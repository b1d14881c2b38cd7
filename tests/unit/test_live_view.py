"""The demo's live view: redrawn in place on a terminal, plain lines anywhere else; and its
Prometheus line."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from devstack.demo import LiveView, alerts_line, simulated_start
from devstack.prometheus import PrometheusError


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


FRAME_1 = ["simulated time  2026-11-02 01:30 UTC", "open by level   L1 5  L2 0"]
FRAME_2 = ["simulated time  2026-11-03 09:15 UTC", "open by level   L1 9  L2 1",
           "Prometheus      http://127.0.0.1:9090  alerts firing: none"]


def test_a_pipe_gets_plain_frames_without_escape_codes():
    out = io.StringIO()
    view = LiveView(out, redraw=True)  # asked to redraw, but not a terminal
    view.show(FRAME_1)
    view.show(FRAME_2)
    text = out.getvalue()
    assert "\033" not in text
    assert text == "\n".join(FRAME_1) + "\n\n" + "\n".join(FRAME_2) + "\n\n"


def test_a_terminal_is_redrawn_in_place():
    out = Terminal()
    view = LiveView(out)
    view.show(FRAME_1)
    first = out.getvalue()
    assert "\033[2J" not in first  # the lines above the view (addresses, links) stay
    assert not re.match(r"\033\[\d+F", first)  # nothing to move back over yet
    assert re.findall(r"\033\[2K([^\n]*)\n", first) == FRAME_1
    view.show(FRAME_2)
    second = out.getvalue()[len(first):]
    # back to the start of the previous frame (two lines up), each line cleared and
    # rewritten, and whatever a longer previous frame left below it cleared
    assert second.startswith("\033[2F")
    assert second.endswith("\033[J")
    assert re.findall(r"\033\[2K([^\n]*)\n", second) == FRAME_2
    view.show(FRAME_1)
    assert out.getvalue()[len(first) + len(second):].startswith("\033[3F")


def test_no_redraw_on_a_terminal_when_asked_for_lines():
    out = Terminal()
    LiveView(out, redraw=False).show(FRAME_1)
    assert "\033" not in out.getvalue()


def test_a_line_wider_than_the_terminal_is_cut_so_it_cannot_wrap(monkeypatch):
    import os
    import shutil

    monkeypatch.setattr(shutil, "get_terminal_size",
                        lambda fallback=None: os.terminal_size((40, 24)))
    out = Terminal()
    LiveView(out).show(["x" * 100])
    assert re.findall(r"\033\[2K([^\n]*)\n", out.getvalue()) == ["x" * 39]


class FakeAPI:
    url = "http://127.0.0.1:9090"

    def __init__(self, firing=None, error=False):
        self._firing = firing or {}
        self._error = error

    def firing(self):
        if self._error:
            raise PrometheusError("not answering")
        return self._firing


def test_the_prometheus_line_names_the_firing_alerts():
    line, firing = alerts_line(FakeAPI({"OverdueAtStateLevel": 2, "SinkDown": 1}))
    assert line == ("Prometheus      http://127.0.0.1:9090  alerts firing: "
                    "OverdueAtStateLevel (2), SinkDown (1)")
    assert firing == {"OverdueAtStateLevel": 2, "SinkDown": 1}
    assert alerts_line(FakeAPI())[0].endswith("alerts firing: none")
    assert "not answering" in alerts_line(FakeAPI(error=True))[0]
    assert "not running" in alerts_line(None)[0]


def test_the_simulated_month_ends_today_at_opening_time():
    now = datetime(2026, 12, 2, 15, 40, tzinfo=UTC)
    assert simulated_start(30, now) == datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # 07:00 IST
    assert simulated_start(0.5, now) == datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
