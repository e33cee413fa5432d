from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.people.roles import ROLE_SCOPE, Role, Scope

_hasher = PasswordHasher()


class Region(db.Model):
    """One of the 17 oblasts or 3 cities of republican significance."""

    __tablename__ = "region"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))

    def name(self, locale: str) -> str:
        return {"kk": self.name_kk, "ru": self.name_ru}.get(locale, self.name_en)


class Organisation(db.Model):
    """A private school, a dormitory (its investor), a regional education department, the operator or the ministry."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("kind IN ('school','dormitory','department','operator','ministry')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    design_capacity: Mapped[int | None]
    iban: Mapped[str | None] = mapped_column(String(34))
    region: Mapped[Region | None] = relationship()


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    # Set when an administrator (re)sets the password: the next login must choose a new one (app/admin).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime | None]
    # Bumped on logout and password change: a session cookie carries the number it was issued with, so a
    # copied cookie stops working on the server even though its signature is still valid.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Joined: every scope check reads the user's organisation (its region), so it comes with the user's row.
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot log in
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def scope(self) -> Scope:
        return ROLE_SCOPE[self.role_enum]

    @property
    def region_id(self) -> int | None:
        return self.organisation.region_id if self.organisation else None


def spend_a_password_check(password: str) -> None:
    """Verify ``password`` against a fixed hash made with the same parameters, so a login for an unknown or
    disabled account costs what a wrong password for a real one costs (no account enumeration by timing)."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("no account has this password"))
    try:
        _hasher.verify(_dummy[1], password)
    except (VerificationError, InvalidHashError):
        pass


_dummy: tuple[PasswordHasher, str] | None = None
