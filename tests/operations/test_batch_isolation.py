"""One failure stays one failure in the batches people start: migrating many instances to a new version, and the
month-wide verification. A poisoned instance (or act) is rolled back alone, gets an incident, and the others go on;
retrying the incident from the cockpit re-runs what failed."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app import clock
from app.acts import terms
from app.acts.models import Act
from app.audit.operations import verify_all_chains
from app.engine import runtime
from app.engine.incidents import Incident, retry_incident
from app.engine.models import ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from app.modeler.models import InstanceMigration
from app.reports.operations import run_month_verification, start_month_verification
from tests.cockpit.conftest import confirmed
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, timer

HUGE = "Exceeds the limit (4300 digits) for integer string conversion; use sys.set_int_max_str_digits()"


def _v1() -> dict[str, str]:
    return chain_model("mig", [("fill", "Operator", user_task("fill", "Fill in")),
                               ("check", "Operator", user_task("check", "Check"))])


def _v2() -> dict[str, str]:
    """A waiting step added after *Fill in*."""
    return chain_model("mig", [("fill", "Operator", user_task("fill", "Fill in")), ("wait", "Operator", timer()),
                               ("check", "Operator", user_task("check", "Check"))])


def _snapshot(instance_id: int) -> tuple:
    db.session.expire_all()
    i = db.session.get(ProcessInstance, instance_id)
    return i.model_version_id, i.state, i.status, i.lock_version


def test_migrating_many_instances_isolates_each_one(world, browser, monkeypatch):
    v1, _ = publish_version(_v1())
    db.session.commit()
    with clock.FrozenClock(START):
        ids = {}
        for name in ("fine-1", "huge", "broken", "fine-2"):
            ids[name] = runtime.start_instance("mig", title=name, actor=user("owner"), data={"kind": name}).id
            db.session.commit()
        v2, _ = publish_version(_v2())
        db.session.commit()
    # a saved state nobody can read any more (a hand edit, a bad restore) ...
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == ids["broken"])
                       .values(state='{"serializer_version": "1.4", "data": {"tru'))
    db.session.commit()
    # ... and data that the new version's save cannot write (the int-over-4,300-digits failure of dump_state)
    real_dump = runtime.dump_state

    def dump_refusing_huge(wf):
        if any(t.data.get("kind") == "huge" for t in wf.tasks.values()):
            raise ValueError(HUGE)
        return real_dump(wf)

    monkeypatch.setattr(runtime, "dump_state", dump_refusing_huge)
    before = {name: _snapshot(i) for name, i in ids.items()}

    owner = browser("owner")
    page = owner.get(f"/modeler/versions/{v2.id}/migrate")
    assert page.status_code == 200, "one unreadable instance does not break the page"
    assert "The saved state of this instance cannot be read" in page.get_data(as_text=True)
    response = owner.post(f"/modeler/versions/{v2.id}/migrate", {"instance_id": [str(i) for i in ids.values()]})
    assert response.status_code == 302
    flashes = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 instances migrated to version 2." in flashes
    assert "the migration failed and was rolled back" in flashes

    for name in ("fine-1", "fine-2"):
        assert _snapshot(ids[name])[0] == v2.id, name
    for name in ("huge", "broken"):
        assert _snapshot(ids[name]) == before[name], f"{name}: nothing of its migration was written"
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == ids[name])).one()
        assert (incident.kind, incident.status, incident.attempts) == ("migration", "open", 1)
        assert incident.detail
    assert "4300 digits" in db.session.scalars(select(Incident.message).where(
        Incident.instance_id == ids["huge"])).one()
    assert db.session.scalar(select(func.count(InstanceMigration.id))) == 2
    assert verify_all_chains()[1] == []

    # the cockpit shows the incident on an instance that still runs, and its retry migrates it again
    operator = browser("operator")
    shown = operator.get(f"/instances/{ids['huge']}").get_data(as_text=True)
    assert 'class="small text-danger incident"' in shown and 'id="retry-step"' in shown
    monkeypatch.setattr(runtime, "dump_state", real_dump)  # the data was fixed
    operator.post(f"/instances/{ids['huge']}/retry", confirmed("data fixed, migrate again"))
    assert _snapshot(ids["huge"])[0] == v2.id
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == ids["huge"])).one()
    assert (incident.status, incident.resolution) == ("resolved", "data fixed, migrate again")
    assert verify_all_chains()[1] == []


def _month_acts(period) -> list[Act]:
    return list(db.session.scalars(select(Act).where(Act.period == period).order_by(Act.id)))


def test_the_month_wide_verification_goes_on_past_a_poisoned_act(world, monkeypatch):
    acts, poison, poisoned_terms = _one_act_poisoned(monkeypatch)
    run = start_month_verification(poison.period, actor=None, dispatch_job=False)
    db.session.commit()
    run = run_month_verification(run.id)
    assert run.status == "done" and run.processed_acts == len(acts)
    assert f"#{poison.id}" in run.message

    db.session.expire_all()
    for act in _month_acts(poison.period):
        if act.id == poison.id:
            assert act.status == "submitted" and act.verified_at is None, "the poisoned act kept its last check"
        else:
            assert act.status == "verified" and act.verified_at is not None, act.id
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == poison.instance_id)).one()
    assert (incident.kind, incident.element_id, incident.status) == ("verification", "verify_contingent", "open")
    assert db.session.get(ProcessInstance, poison.instance_id).status == "running", "the act's process goes on"

    # the contract is repaired: the incident's retry checks that act again
    monkeypatch.setattr(terms, "_providers", [p for p in terms._providers if p is not poisoned_terms])
    assert retry_incident(incident, user("operator"), "contract repaired") is True
    db.session.expire_all()
    assert db.session.get(Act, poison.id).status == "verified"
    assert db.session.get(Incident, incident.id).status == "resolved"
    assert verify_all_chains()[1] == []


def _one_act_poisoned(monkeypatch):
    """The month's acts, every one waiting for checks, the second of which cannot have its contract terms read."""
    acts = _month_acts(_month_acts_period())
    assert len(acts) >= 3
    for act in acts:
        act.status = "submitted" if act.status not in ("submitted", "verified") else act.status
        act.verified_at = None
    db.session.commit()
    poison = acts[1]

    def poisoned_terms(act):
        if act.id == poison.id:
            raise RuntimeError("contract terms cannot be read")
        return None

    monkeypatch.setattr(terms, "_providers", [poisoned_terms, *terms._providers])
    return acts, poison, poisoned_terms


def _month_acts_period():
    from tests.helpers import act_of_school

    return act_of_school("Alatau Lyceum").period


def test_verify_month_on_the_command_line_names_the_acts_it_could_not_check_and_exits_1(world, app_ctx, monkeypatch):
    """The command printed the month's totals and exited 0 while an act could not be checked (an incident waiting):
    a month-end script or an operator reading the exit code took the month as verified."""
    acts, poison, _poisoned_terms = _one_act_poisoned(monkeypatch)
    ran = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", f"{poison.period:%Y-%m}"])
    assert ran.exit_code == 1, ran.output
    assert f"{len(acts)} act(s)," in ran.output, "the totals are still said"
    assert f"✗ 1 act(s) could not be checked; each has an incident: #{poison.id}" in ran.output
