"""Every change an administrator makes to users, organisations and regions — validated, then audited.

Each function takes the submitted fields (strings), returns the changed record or raises :class:`Invalid`
with a message per field in the user's language; nothing is written when anything is wrong. Audit events go
to the record's own chain (``user:<id>``, ``organisation:<id>``, ``region:<id>``), like logins do.
"""

from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from marshmallow import ValidationError
from marshmallow.validate import Email
from sqlalchemy import func, select

from app import clock
from app.audit.operations import record_event
from app.engine.errors import DomainRefused
from app.extensions import db
from app.inbox.operations import release_claims_of
from app.notifications.operations import withdraw_notices_of
from app.people.models import Organisation, Region, User
from app.people.operations import change_password, end_sessions
from app.people.roles import ROLE_SCOPE, Role
from app.people.tokens import revoke_tokens_of
from app.registry.cells import iban_text, identifier_text
from app.registry.identifiers import is_valid_12, is_valid_kz_iban
from app.user_input import ascii_int, is_ascii_digits

ORG_KINDS = ("school", "dormitory", "department", "operator", "ministry")
#: the organisation kind a role belongs to (None: any, or none)
ROLE_ORG_KIND = {
    Role.SCHOOL_ACCOUNTANT: "school", Role.SCHOOL_DIRECTOR: "school",
    Role.DORMITORY_ACCOUNTANT: "dormitory", Role.DORMITORY_DIRECTOR: "dormitory",
    Role.DEPARTMENT_OFFICIAL: "department", Role.DEPARTMENT_HEAD: "department",
    Role.OPERATOR: "operator",
}
#: A login is ASCII: "аccountant" (Cyrillic а) or "ａｃｃｏｕｎｔａｎｔ" (full width) would read as "accountant" on
#: every page and in the audit trail, next to the real one.
LOGIN = re.compile(r"[A-Za-z0-9._-]{1,80}")
_EMAIL = Email()


class Invalid(DomainRefused):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _audit(chain: str, action: str, object_type: str, object_id: int, actor, **details) -> None:
    """``actor`` None: done from the command line (``flask create-admin``), by whoever runs it on the server."""
    if actor is None:
        details["via"] = "command line"
    record_event(chain, action, object_type, object_id, actor_id=actor.id if actor else None, details=details)


def _text(form, name: str, limit: int) -> str:
    return (form.get(name) or "").strip()[:limit + 1]


def is_email_address(address: str) -> bool:
    """One address a mail server can deliver to. Notifications put it in a header, so a line break would add
    headers ("Bcc: ..."): marshmallow's RFC 5322 check (one @, no spaces), nothing unprintable, a plain local part
    (no quoted "..." with markup in it) and a domain name with a dot (no ``localhost``, no ``[127.0.0.1]``)."""
    try:
        _EMAIL(address)
    except ValidationError:
        return False
    local, _at, domain = address.rpartition("@")
    return address.isprintable() and not local.startswith('"') and "." in domain and not domain.startswith("[")


# -- users ------------------------------------------------------------------------------------------------------
def _user_fields(form, errors: dict, user: User | None) -> dict:
    values = {"full_name": _text(form, "full_name", 200), "email": _text(form, "email", 200) or None,
              "role": _text(form, "role", 32)}
    if not values["full_name"] or len(values["full_name"]) > 200:
        errors["full_name"] = _("Enter the person's full name (at most 200 characters).")
    if values["email"] and (len(values["email"]) > 200 or not is_email_address(values["email"])):
        errors["email"] = _("Enter a valid e-mail address or leave it empty.")
    if values["role"] not in {r.value for r in Role}:
        errors["role"] = _("Choose a role.")
    org_id = _text(form, "organisation_id", 12)
    organisation = None
    if org_id:
        organisation = db.session.get(Organisation, int(org_id)) if is_ascii_digits(org_id) else None
        if organisation is None:
            errors["organisation_id"] = _("Choose an existing organisation.")
    if "role" not in errors and "organisation_id" not in errors:
        kind = ROLE_ORG_KIND.get(Role(values["role"]))
        if kind and (organisation is None or organisation.kind != kind):
            from app.ui import ORG_KIND  # the kind as the reader's language names it: it said "school" in Russian

            errors["organisation_id"] = _("This role needs an organisation of the kind: %(kind)s.",
                                          kind=ORG_KIND.get(kind, kind))
    values["organisation_id"] = organisation.id if organisation else None
    return values


def check_password_rules(password: str, username: str | None = None) -> str | None:
    """The one password policy (app/people/passwords.py), plus an upper bound on what is hashed."""
    from app.people.passwords import password_problems

    if len(password) > 200:
        return _("The password is too long.")
    problems = password_problems(password, username)
    return " ".join(problems) if problems else None


def create_user(form, actor: User | None) -> tuple[User, str]:
    """A new account with a temporary password (returned once, to hand over); it must be changed at first login."""
    errors: dict[str, str] = {}
    typed = _text(form, "username", 80)
    username = typed.lower()
    if not LOGIN.fullmatch(typed):
        errors["username"] = _("A login is letters (a–z), digits, dots, dashes or underscores (at most 80).")
    elif db.session.scalar(select(func.count()).select_from(User).where(func.lower(User.username) == username)):
        errors["username"] = _("This login is taken.")
    values = _user_fields(form, errors, None)
    if errors:
        raise Invalid(errors)
    temporary = secrets.token_urlsafe(9)
    user = User(username=username, created_at=clock.now(), must_change_password=True, active=True, **values)
    user.set_password(temporary)
    db.session.add(user)
    db.session.flush()
    _audit(f"user:{user.id}", "user.created", "user", user.id, actor, username=username, role=user.role,
           organisation_id=user.organisation_id)
    return user, temporary


def update_user(user: User, form, actor: User) -> int:
    """Save the person's fields; returns how many claimed tasks went back to their group (a move)."""
    errors: dict[str, str] = {}
    values = _user_fields(form, errors, user)
    if user.id == actor.id and values.get("role") != Role.ADMIN.value:
        errors["role"] = _("You cannot take the administrator role from yourself.")
    if errors:
        raise Invalid(errors)
    changes = {k: [getattr(user, k), v] for k, v in values.items() if getattr(user, k) != v}
    for name, value in values.items():
        setattr(user, name, value)
    if changes:
        _audit(f"user:{user.id}", "user.updated", "user", user.id, actor, changes=changes)
    if {"organisation_id", "role"} & set(changes):
        from app.people.substitutions import end_substitutions_of

        end_substitutions_of(user, actor, "user.moved")
        # A token was given to an integration of the organisation and role the person had: moved, the person's
        # new scope is not that integration's to read or act in.
        revoke_tokens_of(user, "user.moved")
        # The tasks they claimed go back to the group they left (kept, nobody there could complete them), and the
        # bell and outbox let go of that scope's cases.
        released = release_claims_of(user, actor, "user.moved")
        withdraw_notices_of(user, actor, "user.moved")
        return released
    return 0


def set_active(user: User, active: bool, actor: User) -> int:
    """Deactivated accounts cannot log in (Flask-Login reads ``is_active`` on every request). Returns how many
    claimed tasks went back to their group."""
    if user.id == actor.id and not active:
        raise DomainRefused(_("You cannot deactivate your own account."))
    if user.active == active:
        return 0
    user.active = active
    _audit(f"user:{user.id}", "user.activated" if active else "user.deactivated", "user", user.id, actor)
    if not active:
        end_sessions(user, "user.sessions_ended")  # a deactivated person's open sessions end now
        # and their tokens for good: refused only while the account was off, they worked again when it came back
        revoke_tokens_of(user, "user.deactivated")
        return release_claims_of(user, actor, "user.deactivated")  # their group completes what they had taken
    return 0


def reset_password(user: User, actor: User) -> str:
    """A new temporary password, shown once to the administrator; the user must change it at next login."""
    temporary = secrets.token_urlsafe(9)
    user.set_password(temporary)
    user.must_change_password = True
    _audit(f"user:{user.id}", "user.password_reset", "user", user.id, actor)
    end_sessions(user, "user.sessions_ended")  # whoever was signed in with the old password is signed out
    revoke_tokens_of(user, "user.password_reset")  # and whatever integration used a token made meanwhile
    return temporary


def change_own_password(user: User, current: str, new: str, repeat: str) -> None:
    errors: dict[str, str] = {}
    if not user.check_password(current):
        errors["current"] = _("The current password is wrong.")
    problem = check_password_rules(new, user.username)
    if problem:
        errors["new"] = problem
    elif new != repeat:
        errors["repeat"] = _("The two new passwords differ.")
    elif new == current:
        errors["new"] = _("Choose a password different from the current one.")
    if errors:
        raise Invalid(errors)
    # The same door as the account page: the other sessions end and the API tokens are revoked.
    change_password(user, new)
    user.must_change_password = False


# -- organisations ----------------------------------------------------------------------------------------------
def save_organisation(organisation: Organisation | None, form, actor: User) -> Organisation:
    errors: dict[str, str] = {}
    kind, bin_, name = _text(form, "kind", 16), identifier_text(_text(form, "bin", 40)), _text(form, "name", 255)
    region_id, capacity, iban = _text(form, "region_id", 12), _text(form, "design_capacity", 9), \
        iban_text(_text(form, "iban", 60))
    if kind not in ORG_KINDS:
        errors["kind"] = _("Choose the kind of organisation.")
    if not is_valid_12(bin_):
        errors["bin"] = _("The BIN must be 12 digits with a valid check digit.")
    else:
        clash = db.session.scalars(select(Organisation).where(Organisation.bin == bin_)).first()
        if clash is not None and clash is not organisation:
            errors["bin"] = _("Another organisation has this BIN.")
    if organisation is not None and (bin_, kind) != (organisation.bin, organisation.kind) \
            and _takes_part_in_funding(organisation):
        # The BIN and kind name the legal entity that applied, signed and is paid: its applications, contracts and
        # acts stay with the entity they named. Changed, the registries were read for another BIN (NEDB, licences)
        # for the contract signed by the first and the months already paid.
        message = _("This organisation has applications, contracts or acts: its BIN and kind stay as they are. "
                    "Register another organisation under the other BIN.")
        errors["bin" if bin_ != organisation.bin else "kind"] = message
    if not name or len(name) > 255:
        errors["name"] = _("Enter the name (at most 255 characters).")
    region = None
    if region_id:
        region = db.session.get(Region, int(region_id)) if is_ascii_digits(region_id) else None
        if region is None:
            errors["region_id"] = _("Choose a region.")
    elif kind in ("school", "dormitory", "department"):
        errors["region_id"] = _("Schools and departments belong to a region.")
    moves = organisation is not None and "region_id" not in errors and \
        (region.id if region else None) != organisation.region_id
    if moves and _takes_part_in_funding(organisation):
        # Its contract was signed by that region's department head and its acts are decided in that region's inbox:
        # moved, its records would stay with one department and its new acts go to another.
        errors["region_id"] = _("This organisation has applications, contracts or acts: its region stays as it is. "
                                "Register another organisation in the other region.")
    if capacity and ascii_int(capacity, max_digits=6) is None:
        errors["design_capacity"] = _("The design capacity is a whole number of places.")
    if iban and not is_valid_kz_iban(iban):
        errors["iban"] = _("The IBAN is not a valid Kazakh IBAN.")
    if errors:
        raise Invalid(errors)
    values = {"kind": kind, "bin": bin_, "name": name, "region_id": region.id if region else None,
              "design_capacity": int(capacity) if capacity else None, "iban": iban or None}
    created = organisation is None
    if created:
        organisation = Organisation(**values)
        db.session.add(organisation)
        db.session.flush()
        changes = values
    else:
        changes = {k: [getattr(organisation, k), v] for k, v in values.items() if getattr(organisation, k) != v}
        for k, v in values.items():
            setattr(organisation, k, v)
    if changes:
        _audit(f"organisation:{organisation.id}", "organisation.created" if created else "organisation.updated",
               "organisation", organisation.id, actor, changes=changes)
    if not created and "iban" in changes:
        # an act whose payment the bank returned waits for its department to confirm the new account
        from app.payments.returns import tell_of_new_account

        tell_of_new_account(organisation)
    if moves:
        # A person's region is their organisation's: moved, its people's tokens would read (and act in) the new
        # region for integrations given them for the old one — as for a person moved (update_user).
        for member in db.session.scalars(select(User).where(User.organisation_id == organisation.id)):
            revoke_tokens_of(member, "organisation.moved")
    return organisation


def _takes_part_in_funding(organisation: Organisation) -> bool:
    from app.acts.models import Act
    from app.applications.models import Application
    from app.contracts.models import Contract

    return any(db.session.scalar(select(model.id).where(model.school_id == organisation.id).limit(1)) is not None
               for model in (Act, Contract, Application))


# -- regions ----------------------------------------------------------------------------------------------------
def save_region(region: Region | None, form, actor: User) -> Region:
    errors: dict[str, str] = {}
    values = {"code": _text(form, "code", 16).upper(), "name_kk": _text(form, "name_kk", 120),
              "name_ru": _text(form, "name_ru", 120), "name_en": _text(form, "name_en", 120)}
    if not values["code"] or len(values["code"]) > 16 or not all(c.isalnum() or c in "-_" for c in values["code"]):
        errors["code"] = _("The code is up to 16 letters, digits or dashes.")
    else:
        clash = db.session.scalars(select(Region).where(Region.code == values["code"])).first()
        if clash is not None and clash is not region:
            errors["code"] = _("Another region has this code.")
    for field in ("name_kk", "name_ru", "name_en"):
        if not values[field] or len(values[field]) > 120:
            errors[field] = _("Enter the name in each language (at most 120 characters).")
    if errors:
        raise Invalid(errors)
    created = region is None
    if created:
        region = Region(**values)
        db.session.add(region)
        db.session.flush()
        changes = values
    else:
        changes = {k: [getattr(region, k), v] for k, v in values.items() if getattr(region, k) != v}
        for k, v in values.items():
            setattr(region, k, v)
    if changes:
        _audit(f"region:{region.id}", "region.created" if created else "region.updated", "region", region.id,
               actor, changes=changes)
    return region


def role_scope(role: str) -> str:
    return ROLE_SCOPE[Role(role)].value
