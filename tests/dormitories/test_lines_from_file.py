"""The dormitory's act of occupied places fills from a file too: the columns are its own form's (institution BIN,
course, room, bed, move-in and move-out dates), dates as a spreadsheet holds them or as DD.MM.YYYY."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.engine.forms import date_shown
from app.engine.models import HumanTask
from app.extensions import db


def test_the_dormitory_accountant_fills_the_residents_from_a_workbook(dorm_world, browser):
    from openpyxl import Workbook

    act = db.session.get(Act, dorm_world["dormitories"]["acts"]["dorm_a"].id)
    before = (act.status, act.revision, act.lock_version)
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == "submit_act",
                                                      HumanTask.status == "open")).one()
    lines = [line for line, _ in dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)][:2]
    wb = Workbook()
    wb.active.append(["ЖСН", "Full name", "Institution BIN", "Курс", "Room", "Bed", "Moved in", "Moved out"])
    first, second = lines
    wb.active.append([first["iin"], first["full_name"], first["institution_bin"], int(first["course"]), first["room"],
                      first["bed"], datetime.combine(date.fromisoformat(first["moved_in"]), datetime.min.time()), None])
    wb.active.append([second["iin"], second["full_name"], second["institution_bin"], second["course"], second["room"],
                      second["bed"], date.fromisoformat(second["moved_in"]).strftime("%d.%m.%Y"), None])
    wb.active.append([second["iin"], second["full_name"], second["institution_bin"], second["course"], second["room"],
                      second["bed"], second["moved_in"], "2026-13-40"])
    out = io.BytesIO()
    wb.save(out)
    answer = browser("dorm_accountant").post(f"/tasks/{task.id}/lines-from-file",
                                             {"file": (io.BytesIO(out.getvalue()), "residents.xlsx")},
                                             content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and re.search(r"3 lines read, 1 refused\.", html)
    assert re.search(r"<td[^>]*>4</td><td[^>]*><code>Moved out</code></td><td[^>]*>2026-13-40</td>"
                     r"<td[^>]*>Enter a real date as dd.mm.yyyy, for example 05.03.2026.", html)
    shown = [date_shown(first["moved_in"]), date_shown(second["moved_in"])]  # a date field shows dd.mm.yyyy
    assert re.search(rf'id="f-lines-0-moved_in"[^>]*value="{shown[0]}"|value="{shown[0]}"[^>]*'
                     rf'id="f-lines-0-moved_in"', html)
    assert re.search(rf'id="f-lines-1-moved_in"[^>]*value="{shown[1]}"|value="{shown[1]}"[^>]*'
                     rf'id="f-lines-1-moved_in"', html), "05.11.2026 read as the date it is"
    assert f'value="{first["bed"]}"' in html
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert (act.status, act.revision, act.lock_version) == before
    assert db.session.scalar(select(func.count(ActLine.id)).where(ActLine.act_id == act.id)) == 0
