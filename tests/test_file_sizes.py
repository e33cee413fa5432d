"""File sizes read at a glance in the user's language (an attachment of 40 bytes showed "0.0 KB")."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.i18n import format_size


@pytest.mark.parametrize(("size", "en", "ru"), [
    (0, "0 B", "0 Б"), (40, "40 B", "40 Б"), (1023, "1023 B", "1023 Б"), (1024, "1 KB", "1 КБ"),
    (3482, "3.4 KB", "3,4 КБ"), (5 * 1024 * 1024, "5 MB", "5 МБ"), (1_300_000, "1.2 MB", "1,2 МБ"),
])
def test_sizes_in_bytes_kilobytes_and_megabytes(app, size, en, ru):
    with app.test_request_context():
        with force_locale("en"):
            assert format_size(size) == en
        with force_locale("ru"):
            assert format_size(size) == ru
