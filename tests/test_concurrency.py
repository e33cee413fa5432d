"""Two people complete the same task at the same moment: exactly one wins, the other gets a conflict,
the instance is intact. Runs on SQLite and (with DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.acts.handlers import SubmitAct
from app.acts.models import Act, ActLine
from app.audit.operations import verify_all_chains
from app.engine.errors import ConflictError
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, user

LINE = {"iin": "791028302728", "full_name": "Тест Тестов", "grade": 3, "days_attended": 20}


def test_two_concurrent_completions_exactly_one_wins(world, app, monkeypatch):
    act = act_of_school("Bilim Innovation School")
    task_id = open_task(act, "submit_act").id
    act_id, instance_id = act.id, act.instance_id
    db.session.commit()

    # Both requests have loaded the workflow and passed every check before either writes.
    barrier = threading.Barrier(2, timeout=20)
    original = SubmitAct.submit

    def submit_after_both_loaded(self, ctx, data):
        barrier.wait()
        return original(self, ctx, data)

    monkeypatch.setattr(SubmitAct, "submit", submit_after_both_loaded)
    outcomes: list[str] = []

    def attempt(lines: list[dict]) -> None:
        with app.app_context():
            try:
                complete_task(task_id, user("accountant"), data={"lines": lines})
                db.session.commit()
                outcomes.append("won")
            except ConflictError as err:
                db.session.rollback()
                outcomes.append(f"conflict: {err}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=([LINE],)),
               threading.Thread(target=attempt, args=([LINE, dict(LINE, iin="950440001673")],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "won"], outcomes
    assert "Someone else has just completed this step" in next(o for o in outcomes if o.startswith("conflict"))
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    assert act.revision == 1 and act.status == "verified"
    lines = db.session.scalar(select(func.count(ActLine.id)).where(ActLine.act_id == act_id))
    assert lines == act.total_lines and lines in (1, 2)
    open_rows = db.session.scalars(select(HumanTask.spec_name).where(
        HumanTask.instance_id == instance_id, HumanTask.status == "open")).all()
    assert open_rows == ["accept_act"]
    assert verify_all_chains()[1] == []
