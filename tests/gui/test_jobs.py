"""gui/jobs.py: results, errors, cancel and partials come back on the GUI thread."""

import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from quoradup_gui.core.errors import InputFileError
from quoradup_gui.gui.jobs import JobRunner


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    r.shutdown()


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_result_arrives_on_gui_thread(qtbot, runner):
    seen = {}

    def job(x, ctx):
        seen["worker"] = threading.current_thread().name
        ctx.set_progress(1, 2)
        ctx.emit_partial("half")
        return x * 2

    def on_result(value):
        seen["result"] = value
        seen["gui"] = _on_gui_thread()

    j = runner.submit("double", job, 21, on_result=on_result)
    partials = []
    j.sig_partial_emitted.connect(partials.append)
    with qtbot.waitSignal(j.sig_done, timeout=5000):
        pass
    assert seen["result"] == 42 and seen["gui"] is True
    assert seen["worker"].startswith("quoradup-model")
    assert partials == ["half"] and j.outcome == "result"


def test_unhandled_error_goes_to_runner_signal(qtbot, runner):
    def job(ctx):
        raise InputFileError("The file is empty.")

    with qtbot.waitSignal(runner.sig_job_failed, timeout=5000) as blocker:
        runner.submit("failing", job)
    failed_job, exc = blocker.args
    assert isinstance(exc, InputFileError) and "empty" in str(exc)
    assert "InputFileError" in failed_job.traceback_text


def test_cancel_stops_at_next_check(qtbot, runner):
    steps = []

    def job(ctx):
        for i in range(1000):
            ctx.check_cancelled()
            steps.append(i)
            time.sleep(0.01)
        return "finished"

    j = runner.submit("long", job)
    qtbot.waitUntil(lambda: len(steps) > 3, timeout=5000)
    with qtbot.waitSignal(j.sig_cancelled, timeout=2000):
        j.cancel()
    assert j.outcome == "cancelled" and len(steps) < 1000


def test_one_worker_per_lane_runs_jobs_in_order(qtbot, runner):
    order = []

    def job(name, ctx):
        order.append((name, threading.current_thread().name))
        time.sleep(0.05)

    jobs = [runner.submit(f"j{i}", job, i) for i in range(3)]
    qtbot.waitUntil(lambda: all(not j.is_running() for j in jobs), timeout=5000)
    assert [name for name, _ in order] == [0, 1, 2]
    assert len({thread for _, thread in order}) == 1
