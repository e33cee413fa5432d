"""An organisation moved to another region by the administrator: its people's scope moves with it (a person's
region is their organisation's), so what an integration was given for the old region must not read the new one —
the same rule as for a person moved to another organisation or role (their API tokens are revoked). And a school
that applied, signed or was paid keeps its region, as it keeps its BIN and kind: its contract was signed by that
region's department head, its acts are decided in that region's inbox. A deactivated account's tokens end for good,
as its sessions do."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.people.models import Organisation
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import school, user


def _bearer(app, secret: str) -> Browser:
    client = Browser(app)
    client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _form(org: Organisation, **change) -> dict:
    return {"kind": org.kind, "bin": org.bin, "name": org.name, "region_id": str(org.region_id or ""),
            "design_capacity": str(org.design_capacity or ""), "iban": org.iban or "", **change}


def test_moving_a_department_to_another_region_revokes_its_peoples_tokens(world, app_ctx, browser):
    _row, secret = create_token(user("official"), "integration", ["read", "tasks"], 30)
    db.session.commit()
    department = user("official").organisation
    elsewhere = user("official_almaty").organisation.region_id
    assert department.region_id != elsewhere
    admin = browser("admin")

    renamed = admin.post(f"/admin/organisations/{department.id}", _form(department, name=f"{department.name} (new)"))
    assert renamed.status_code == 302
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 200, "a new name is not a move"

    moved = admin.post(f"/admin/organisations/{department.id}", _form(department, region_id=str(elsewhere)))
    assert moved.status_code == 302, moved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Organisation, department.id).region_id == elsewhere
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    revoked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_tokens.revoked")).all()
    assert [e.details for e in revoked] == [{"count": 1, "because": "organisation.moved"}]


def test_a_school_that_takes_part_in_funding_keeps_its_region(world, browser):
    bilim = school("Bilim Innovation School")
    before = bilim.region_id
    elsewhere = user("official_almaty").organisation.region_id
    refused = browser("admin").post(f"/admin/organisations/{bilim.id}", _form(bilim, region_id=str(elsewhere)))
    assert refused.status_code == 422
    assert "its region stays as it is" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, bilim.id).region_id == before


def test_a_token_stays_revoked_when_a_deactivated_account_is_activated_again(world, app_ctx, browser):
    """Deactivating ends the person's sessions; their tokens ended only while the account was off, and an
    integration given one before (by someone who left, say) worked again the moment the account came back."""
    _row, secret = create_token(user("accountant"), "integration", ["read"], 30)
    db.session.commit()
    admin, accountant = browser("admin"), user("accountant")
    admin.post(f"/admin/users/{accountant.id}/active", {"active": "no"})
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    admin.post(f"/admin/users/{accountant.id}/active", {"active": "yes"})
    db.session.expire_all()
    assert user("accountant").active
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    revoked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_tokens.revoked")).all()
    assert [e.details for e in revoked] == [{"count": 1, "because": "user.deactivated"}]
