"""THE one way to run core jobs in the background.

A core job is a plain function ``fn(*args, ctx)``. :class:`JobRunner` runs it on a single
worker thread per *lane* ("model" for anything that touches a model, "io" for file
reading), so two jobs never fight over the model. The job reports through a
:class:`QtJobContext` whose signals cross to the GUI thread as queued connections; workers
never touch widgets. Progress is throttled to 10 Hz here, so jobs may report per batch.
"""

from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Literal

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ..core.errors import JobCancelled, QuoradupError
from ..core.jobs import BaseContext, Throttle

log = logging.getLogger(__name__)

# Jobs that cannot be cancelled and must not hold up quitting (importing torch at start-up)
# run on a daemon thread of their own instead of a lane.
Lane = Literal["model", "io", "cluster", "daemon"]  # one worker thread per lane; daemon: a thread of its own
DAEMON_LANE: Lane = "daemon"


class Job(QObject):
    """Handle of one submitted job; its signals arrive on the GUI thread."""

    sig_status_changed = Signal(str)
    sig_progress_changed = Signal(float, float)  # done, total (total <= 0: unknown)
    sig_partial_emitted = Signal(object)
    sig_result_ready = Signal(object)
    sig_error_raised = Signal(object, str)  # the exception, its traceback text
    sig_cancelled = Signal()
    sig_done = Signal()  # always last, whatever the outcome

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.context = QtJobContext(self)
        self.traceback_text = ""
        self.finished = threading.Event()
        self.outcome: str | None = None  # "result" | "error" | "cancelled"
        self.cancel_note = ""
        self.result: Any = None
        self.lane = ""

    def cancel(self) -> None:
        self.context.cancel()

    def is_running(self) -> bool:
        return not self.finished.is_set()


class QtJobContext(BaseContext):
    """JobContext that forwards to a Job's signals, throttling progress to 10 Hz."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self._throttle = Throttle(10.0)

    def set_status(self, text: str) -> None:
        self._job.sig_status_changed.emit(text)

    def set_progress(self, done: float, total: float | None = None) -> None:
        finished = total is not None and done >= total
        if self._throttle.ready(force=finished):
            self._job.sig_progress_changed.emit(float(done), float(total or 0))

    def emit_partial(self, value: Any) -> None:
        self._job.sig_partial_emitted.emit(value)


class JobRunner(QObject):
    """Owns the worker threads. ``submit`` returns a :class:`Job` whose signals report back.

    ``on_error(exc, details)`` gets the exception and its traceback. Errors nobody handles (no
    ``on_error``) are re-emitted as :attr:`sig_job_failed`, which the main window shows in its one
    error banner. Anything that is not a QuoradupError is logged with its traceback here.
    """

    sig_job_started = Signal(object)
    sig_job_done = Signal(object)
    sig_job_failed = Signal(object, object)  # job, exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        self._active: set[Job] = set()
        self._closed = False

    def submit(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        lane: Lane = "model",
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException, str], None] | None = None,
    ) -> Job:
        if self._closed:
            raise RuntimeError("JobRunner is shut down")
        job = Job(name, self)
        job.lane = lane
        queued = Qt.ConnectionType.QueuedConnection
        if on_result is not None:
            job.sig_result_ready.connect(on_result, queued)
        if on_error is not None:
            job.sig_error_raised.connect(on_error, queued)
        else:
            job.sig_error_raised.connect(lambda exc, _details, j=job: self.sig_job_failed.emit(j, exc), queued)
        job.sig_done.connect(lambda j=job: self._on_job_done(j), queued)
        self._active.add(job)
        if lane == DAEMON_LANE:
            executor = None
        else:
            executor = self._lanes.get(lane)
            if executor is None:
                executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"quoradup-{lane}")
                self._lanes[lane] = executor
        self.sig_job_started.emit(job)
        # Start on the next event-loop turn, so the caller can still connect to the job's
        # signals in the same GUI-thread call without missing an early emission.
        QTimer.singleShot(0, self, lambda: self._start(executor, job, fn, args))
        return job

    def _start(self, executor: ThreadPoolExecutor | None, job: Job, fn: Callable[..., Any], args: tuple) -> None:
        if self._closed:
            job.outcome = "cancelled"
            job.finished.set()
            return
        if executor is None:
            threading.Thread(target=self._run, args=(job, fn, args), name="quoradup-daemon", daemon=True).start()
        else:
            executor.submit(self._run, job, fn, args)

    @staticmethod
    def _run(job: Job, fn: Callable[..., Any], args: tuple) -> None:
        # Runs on the worker thread: only signal emission, never widget calls.
        try:
            job.context.check_cancelled()
            result = fn(*args, job.context)
        except JobCancelled as exc:
            job.outcome = "cancelled"
            job.cancel_note = str(exc)  # what was kept, when the job says so
            job.sig_cancelled.emit()
        except BaseException as exc:  # reported, never swallowed
            job.outcome = "error"
            job.traceback_text = traceback.format_exc()
            if isinstance(exc, QuoradupError):  # expected: its message is written for the user
                log.info("%s: %s", job.name, exc)
            else:
                log.exception("%s failed", job.name)
            job.sig_error_raised.emit(exc, job.traceback_text)
        else:
            job.outcome = "result"
            job.result = result
            job.sig_result_ready.emit(result)
        finally:
            job.finished.set()
            job.sig_done.emit()

    def _on_job_done(self, job: Job) -> None:
        self._active.discard(job)
        self.sig_job_done.emit(job)

    def is_closed(self) -> bool:
        """True once shut down (on quit): nothing more can be submitted."""
        return self._closed

    def active_jobs(self) -> list[Job]:
        return [job for job in self._active if job.is_running()]

    def cancel_all(self) -> None:
        for job in list(self._active):
            job.cancel()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything and wait for the workers (on quit)."""
        self._closed = True
        self.cancel_all()
        for job in list(self._active):
            if job.lane != DAEMON_LANE:
                job.finished.wait(timeout)
        for executor in self._lanes.values():
            executor.shutdown(wait=False, cancel_futures=True)
