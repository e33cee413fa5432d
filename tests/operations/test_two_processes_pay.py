"""Two web processes take the same act's payment at the same instant — two operators, two payment orders. Real
processes, each with its own connections to this test's database (PostgreSQL with DATABASE_URL): one payment is
stored, the other operator is told plainly (never a 500), and every audit chain still verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.audit.operations import verify_all_chains
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, open_task, submitted_and_accepted

WORKTREE = Path(__file__).resolve().parents[2]

#: one web process: logs in as an operator (each process its own: two logins of one person at the same instant race
#: on that person's audit chain, which is not what this test is about), says "ready", waits for "go" on its standard
#: input, pays
PAYER = """
import json, re, sys
from app import create_app
from tests.conftest import Browser

url, key_file, anchors, task_id, order, paid_on, username = sys.argv[1:8]
app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "BABEL_DEFAULT_LOCALE": "en",
                  "BACKGROUND_MODE": "none", "AUDIT_KEY_FILE": key_file, "AUDIT_ANCHOR_DIR": anchors})
with app.app_context():
    operator = Browser(app, username)
    operator.get(f"/tasks/{task_id}")
    print("ready", flush=True)
    sys.stdin.readline()
    answer = operator.post(f"/tasks/{task_id}", {"order_number": order, "paid_on": paid_on})
    if answer.status_code == 302:
        answer = operator.get(answer.headers["Location"])
        answer.status_code = 302
    text = answer.get_data(as_text=True)
    said = [re.sub(r"<[^>]+>|\\s+", " ", m).strip() for m in re.findall(r'role="alert"[^>]*>(.*?)</div>', text, re.S)]
    print(json.dumps({"status": answer.status_code, "said": said}), flush=True)
"""


def test_two_processes_paying_one_act_at_once_store_one_payment(world, app_ctx, tmp_path):
    act_id = submitted_and_accepted(act_of_school("Bilim Innovation School"))
    task_id = open_task(db.session.get(Act, act_id), "pay_act").id

    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-payers",
           "INSTANCE_PATH": str(tmp_path / "instance")}
    payers = [subprocess.Popen(
        [sys.executable, "-c", PAYER, app_ctx.config["SQLALCHEMY_DATABASE_URI"], app_ctx.config["AUDIT_KEY_FILE"],
         app_ctx.config["AUDIT_ANCHOR_DIR"], str(task_id), order, clock.today().isoformat(), username],
        cwd=WORKTREE, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for order, username in (("PP-RACE-A", "operator"), ("PP-RACE-B", "operator2"))]
    try:
        for payer in payers:
            assert payer.stdout.readline().strip() == "ready", payer.stderr.read()
        for payer in payers:  # both at once
            payer.stdin.write("go\n")
            payer.stdin.flush()
        answers = []
        for payer in payers:
            out, err = payer.communicate(timeout=120)
            assert payer.returncode == 0, err
            answers.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for payer in payers:
            if payer.poll() is None:
                payer.kill()
                payer.wait()

    db.session.expire_all()
    payments = db.session.scalars(select(Payment).where(Payment.act_id == act_id)).all()
    assert len(payments) == 1, "paid exactly once"
    winner, loser = sorted(answers, key=lambda a: a["status"])
    assert (winner["status"], loser["status"]) == (302, 409), answers
    assert "was paid meanwhile" in " ".join(loser["said"]) and payments[0].order_number in " ".join(loser["said"])
    assert verify_all_chains()[1] == []
