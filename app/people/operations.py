"""State changes of accounts (logins, logouts, passwords): each writes its audit event here.

API tokens have theirs in app/people/tokens.py."""

from __future__ import annotations

from sqlalchemy import update

from app import clock
from app.audit.operations import record_event
from app.extensions import db
from app.people.models import User
from app.people.tokens import revoke_tokens_of


def _chain(user: User) -> str:
    return f"user:{user.id}"


def record_login(user: User) -> None:
    record_event(_chain(user), "user.login", "user", user.id, actor_id=user.id)


def end_sessions(user: User, action: str = "user.logout") -> None:
    """Invalidate every session cookie issued to ``user`` so far (logout, or all other devices)."""
    # One guarded increment in SQL: two logouts at once still end up past every cookie issued before.
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["session_version"])
    record_event(_chain(user), action, "user", user.id, actor_id=user.id)


def change_password(user: User, new_password: str) -> None:
    """Set a new password (already checked against the policy) and end every other session."""
    user.set_password(new_password)
    user.password_changed_at = clock.now()
    db.session.flush()
    end_sessions(user, "user.password_changed")
    revoke_tokens_of(user, "user.password_changed")
