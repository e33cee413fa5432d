"""The browser fixtures of tests/e2e, for this folder's end-to-end module."""

from tests.e2e.conftest import chromium, live_server, new_page  # noqa: F401
