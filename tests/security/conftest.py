from __future__ import annotations

import socket
import threading

import pytest

from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import two_step


@pytest.fixture()
def trial_v1(world):
    """A published two-step test model (fill in → review), version 1."""
    version, _ = publish_version(two_step())
    db.session.commit()
    return version


@pytest.fixture
def listener():
    """A local TCP port that counts the connections it is offered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join(1)
    server.close()
