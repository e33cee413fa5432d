"""Password policy, applied wherever a password is set by a person (change now; an admin's reset too).

Length over composition rules (NIST SP 800-63B): a minimum length from settings, no password that
contains the login, none of the passwords every guessing list starts with, and not one repeated pattern.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

_COMMON = frozenset({
    "123456789012", "1234567890123", "qwertyuiop12", "qwerty123456", "password1234", "passwordpassword",
    "111111111111", "000000000000", "123123123123", "1q2w3e4r5t6y", "qwertyuiopasdf", "iloveyou1234",
    "adminadmin123", "administrator", "kazakhstan2026", "astana123456", "parol1234567", "tapsyrys2026",
})


def password_problems(password: str, username: str | None = None) -> list[str]:
    """The reasons ``password`` is refused, in the user's language; empty when it is acceptable."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_("The password must have at least %(n)s characters.", n=minimum))
    if len(password) > 200:
        problems.append(_("The password must have at most %(n)s characters.", n=200))
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append(_("The password must not contain your login."))
    if lowered in _COMMON or len(set(lowered)) < 5:
        problems.append(_("This password is too easy to guess; choose a longer phrase."))
    return problems
