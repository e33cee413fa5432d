"""``next`` is followed only to a path on this site (app.user_input.is_local_path), whatever the browser would make
of what follows the first slash."""

from __future__ import annotations

import pytest

from app.user_input import is_local_path


@pytest.mark.parametrize("target", ["/inbox", "/acts/3?rule=withdrawn#review-lines", "/tasks/7", "/"])
def test_a_path_of_this_site_is_followed(target):
    assert is_local_path(target)


@pytest.mark.parametrize("target", [
    None, "", "inbox", "//evil.example", "///evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
    "/\r/evil.example", "/\x00/x", "/\x7f/x", "https://evil.example/", "javascript:alert(1)", " /inbox", 7,
])
def test_anything_else_is_not(target):
    assert not is_local_path(target)
