"""Ctrl-C during an import, rule by rule: the command's handler (taken while the import runs, given back as it was
found, left alone where Ctrl-C is ignored or cannot be handled; the first press asks for a stop and says so, the
second stops at once) and the import's stop between two transactions (after the file's scan, after each batch)."""

from __future__ import annotations

import io
import signal
import sys
import threading

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.registry import importers
from app.registry.cli import _StopOnCtrlC
from app.registry.models import NedbEnrollment, RegistryImport
from app.registry.operations import create_import, run_import, stored_path

SAID = "\nStopping once the batch being written is saved (Ctrl-C again to stop at once)…\n"


@pytest.fixture()
def sigint():
    """Ctrl-C's handler as the test found it, given back after."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def _previous_handler(*_args) -> None:
    pass


@pytest.mark.parametrize("previous", [signal.default_int_handler, signal.SIG_DFL, _previous_handler])
def test_the_command_takes_ctrl_c_while_it_runs_and_gives_back_what_it_found(sigint, previous):
    signal.signal(signal.SIGINT, previous)
    with _StopOnCtrlC("the batch being written") as ctrl_c:
        assert signal.getsignal(signal.SIGINT) == ctrl_c._asked
        assert ctrl_c.requested is False
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_handler_python_did_not_set_is_given_back_as_pythons_own(sigint, monkeypatch):
    """``getsignal`` says None for a handler not set from Python: what Python itself does on Ctrl-C is put back."""
    real = signal.getsignal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    monkeypatch.setattr(signal, "getsignal", lambda signum: None)
    with _StopOnCtrlC("the batch being written"):
        assert real(signal.SIGINT) != signal.SIG_DFL
    assert real(signal.SIGINT) is signal.default_int_handler


def test_a_command_started_with_ctrl_c_ignored_keeps_it_ignored(sigint):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with _StopOnCtrlC("the batch being written") as ctrl_c:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and ctrl_c.requested is False


def test_outside_the_main_thread_the_handler_is_left_alone(sigint):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    seen = {}

    def command() -> None:
        with _StopOnCtrlC("the batch being written") as ctrl_c:
            seen["inside"] = signal.getsignal(signal.SIGINT)
        seen["requested"] = ctrl_c.requested

    worker = threading.Thread(target=command)
    worker.start()
    worker.join()
    assert seen == {"inside": signal.default_int_handler, "requested": False}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_first_ctrl_c_asks_for_a_stop_and_says_so_the_second_stops_at_once(sigint, capfd):
    with _StopOnCtrlC("the batch being written") as ctrl_c:
        ctrl_c._asked(signal.SIGINT, None)
        assert ctrl_c.requested is True
        assert capfd.readouterr().err == SAID  # straight to the descriptor
        with pytest.raises(KeyboardInterrupt):
            ctrl_c._asked(signal.SIGINT, None)
        assert ctrl_c.requested is True
        assert capfd.readouterr().err == ""  # said once


def test_the_stop_is_said_on_a_stream_without_a_descriptor(sigint, monkeypatch):
    stream = io.StringIO()  # a test runner's capture: no file descriptor
    monkeypatch.setattr(sys, "stderr", stream)
    with _StopOnCtrlC("the batch being written") as ctrl_c:
        ctrl_c._asked(signal.SIGINT, None)
    assert stream.getvalue() == SAID and ctrl_c.requested


def test_a_real_ctrl_c_is_a_request_not_an_interruption(sigint):
    import os

    signal.signal(signal.SIGINT, signal.default_int_handler)
    with _StopOnCtrlC("the batch being written") as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs in this thread at the next instruction
            if ctrl_c.requested:
                break
    assert ctrl_c.requested is True


# -- run_import: where it asks ---------------------------------------------------------------------------------------

def _nedb_file(tmp_path, rows: int):
    from tests.registry.conftest import iin

    lines = ["iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on"]
    lines += [f"{iin(n)},Student {n},950440001673,private,5,2026-09-01," for n in range(1, rows + 1)]
    path = tmp_path / "nedb.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(tmp_path, rows: int, answers):
    """An import of ``rows`` NEDB rows, one per batch, asked whether to stop: the answers in turn."""
    path = _nedb_file(tmp_path, rows)
    job = create_import("nedb", path.name, source=path)
    db.session.commit()
    asked = []

    def stop_requested() -> bool:
        asked.append(db.session.get(RegistryImport, job.id).loaded_rows)
        return answers[len(asked) - 1]

    result = run_import(job.id, stop_requested=stop_requested)
    db.session.expire_all()
    return result, db.session.get(RegistryImport, job.id), asked


def _loaded() -> int:
    return db.session.scalar(select(func.count()).select_from(NedbEnrollment))


def test_a_stop_asked_for_before_the_first_row_writes_none(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH", 1)
    result, job, asked = _run(tmp_path, 3, [True])
    assert result is None and asked == [0]  # asked once: after the scan, before a row is written
    assert (job.status, job.message, job.total_rows, job.loaded_rows) == ("stopped", "interrupted:", 3, 0)
    assert _loaded() == 0 and not stored_path(job).exists() and job.lease_expires_at is None
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.import_stopped"))
    assert event.details["reason"] == "interrupted:"


def test_a_stop_asked_for_after_a_batch_keeps_that_batch_and_writes_no_other(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH", 1)
    result, job, asked = _run(tmp_path, 3, [False, False, True])
    assert result is None and asked == [0, 1, 2]  # after the scan, then after each committed batch
    assert (job.status, job.message, job.loaded_rows) == ("stopped", "interrupted:", 2)
    assert _loaded() == 2


def test_an_import_never_asked_to_stop_runs_to_its_end_asking_after_every_batch(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH", 1)
    result, job, asked = _run(tmp_path, 3, [False] * 5)
    assert result is not None and (job.status, job.loaded_rows) == ("done", 3)
    assert asked[:4] == [0, 1, 2, 3] and _loaded() == 3  # (the file's end may ask once more: nothing left)
