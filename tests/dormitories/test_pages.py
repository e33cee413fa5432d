"""The dormitory instrument through the pages, as each role uses it: the dormitory's accountant submits the act of
occupied places (prefilled from last month), the department's official sees the verification report with the
dormitory rules' reasons and accepts, the operator pays — exactly once; other organisations see none of it."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app import clock
from app.acts.models import Act, ActLine
from app.engine.models import HumanTask
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import lines_form, seen


def _act(dorm_world, key: str) -> Act:
    db.session.expire_all()
    return db.session.get(Act, dorm_world["dormitories"]["acts"][key].id)


def _task(act: Act, spec: str) -> HumanTask:
    db.session.expire_all()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == spec, HumanTask.status == "open")).one()


def test_the_dormitory_accountant_submits_the_official_accepts_the_operator_pays_once(dorm_world, browser):
    act = _act(dorm_world, "dorm_a")
    accountant = browser("dorm_accountant")
    submit = _task(act, "submit_act")
    assert f"/tasks/{submit.id}" in accountant.get("/inbox").get_data(as_text=True)
    page = accountant.get(f"/tasks/{submit.id}").get_data(as_text=True)
    assert "last month" in page and "Institution BIN" in page and "Moved in" in page
    lines = dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)
    assert page.count('name="lines.') >= len(lines) * 7, "prefilled with last month's residents"
    bad = [dict(line) for line, _ in lines]
    bad[0]["moved_out"], bad[0]["moved_in"] = "2026-09-01", "2026-10-05"
    refused = accountant.post(f"/tasks/{submit.id}", lines_form(bad))
    assert refused.status_code == 422 and "move-out date is before the move-in date" in refused.get_data(as_text=True)
    # the field itself is marked on its row (users probe: only a banner said it, the column out of sight)
    assert re.search(r'class="form-control is-invalid" id="f-lines-0-moved_out"', refused.get_data(as_text=True))
    assert "nothing was saved" in refused.get_data(as_text=True)
    assert db.session.scalar(select(ActLine.id).where(ActLine.act_id == act.id)) is None, "nothing half-written"
    assert accountant.post(f"/tasks/{submit.id}", lines_form([line for line, _ in lines])).status_code == 302

    act = _act(dorm_world, "dorm_a")
    assert act.status == "verified" and act.accepted_lines == act.total_lines == len(lines)
    official = browser("official")
    accept = _task(act, "accept_act")
    page = official.get(f"/tasks/{accept.id}").get_data(as_text=True)
    assert "Jastar Student Residence" in page and "Dormitory" in page
    assert official.post(f"/tasks/{accept.id}", {"decision": "accept", "_seen": seen(accept)}).status_code == 302
    operator = browser("operator")
    pay = _task(act, "pay_act")
    paid = operator.post(f"/tasks/{pay.id}", {"order_number": "DP-2026-001", "paid_on": clock.today().isoformat()})
    assert paid.status_code == 302
    again = operator.post(f"/tasks/{pay.id}", {"order_number": "DP-2026-002", "paid_on": clock.today().isoformat()})
    assert again.status_code == 409, "the second payment of one act is refused as a conflict"
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all()[0].amount_tiyn == act.amount_tiyn
    assert len(db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all()) == 1


def test_the_official_reads_each_dormitory_rule_with_its_reason(dorm_world, browser):
    act = _act(dorm_world, "dorm_b")
    page = browser("official").get(f"/acts/{act.id}").get_data(as_text=True)
    for title in ("Not in the student registry", "Not a full-time student", "Local resident",
                  "Bed not in the dormitory", "Bed occupied twice", "Placed in two dormitories",
                  "Over contracted places", "Student listed twice"):
        assert title in page, title
    assert "Course" in page


def test_other_organisations_see_no_dormitory_act(dorm_world, browser):
    act = _act(dorm_world, "dorm_b")
    for outsider in ("accountant", "dorm_accountant", "official_almaty"):
        assert browser(outsider).get(f"/acts/{act.id}").status_code == 404, outsider
    assert browser("dorm_accountant2").get(f"/acts/{act.id}").status_code == 200
    assert browser("auditor").get(f"/acts/{act.id}").status_code == 200


def test_the_dormitory_sees_its_own_residents_in_full_and_the_process_owner_sees_them_masked(dorm_world, browser):
    # The dormitory's accountant typed the residents' IINs and names; its act page showed them as "••••••••1737".
    act = _act(dorm_world, "dorm_a")
    accountant = browser("dorm_accountant")
    assert accountant.post(f"/tasks/{_task(act, 'submit_act').id}", lines_form(
        [line for line, _ in dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)])).status_code == 302
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)).first()
    page = accountant.get(f"/acts/{act.id}").get_data(as_text=True)
    assert line.iin in page and line.full_name in page and 'id="export-csv"' in page
    assert accountant.get(f"/acts/{act.id}/lines.csv").status_code == 200
    owner = browser("owner").get(f"/acts/{act.id}").get_data(as_text=True)
    assert line.iin not in owner and line.iin[-4:] in owner and 'id="export-csv"' not in owner


def test_every_organisation_the_analytics_flag_opens_on_its_own_page(dorm_world, browser):
    # "Nomad Student House" was listed with a red flag whose link answered 404: only schools had a page.
    import re

    for username in ("official", "operator"):
        visitor = browser(username)
        page = visitor.get("/analytics/").get_data(as_text=True)
        table = page[page.index('id="school-flags"'):]
        links = re.findall(r'href="(/analytics/schools/\d+[^"]*)"', table[:table.index("</table>")])
        assert links, username
        for link in links:
            assert visitor.get(link.replace("&amp;", "&")).status_code == 200, (username, link)


def test_a_dormitorys_act_is_named_in_the_bulk_acceptance_and_the_inbox(dorm_world, browser):
    # The bulk acceptance listed a dormitory's act with an empty School cell.
    import re

    official = browser("official")
    act = _act(dorm_world, "dorm_a")
    assert browser("dorm_accountant").post(f"/tasks/{_task(act, 'submit_act').id}", lines_form(
        [line for line, _ in dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)])).status_code == 302
    verified = [_act(dorm_world, "dorm_a")]
    assert verified[0].status == "verified" and verified[0].accepted_lines == verified[0].total_lines
    tasks = [_task(a, "accept_act") for a in verified]
    assert all(t.school_name == a.school.name for t, a in zip(tasks, verified, strict=True))
    page = official.get("/inbox/bulk-accept?" + "&".join(f"task={t.id}" for t in tasks)).get_data(as_text=True)
    rows = re.findall(r'<tr data-task-id="\d+">(.*?)</tr>', page, re.S)
    assert len(rows) == len(tasks) and all(re.search(r"<td>[^<]+</td>", row) for row in rows)
    for act in verified:
        assert act.school.name in page


def test_a_move_in_date_no_one_can_have_moved_in_on_is_refused_with_the_reason(dorm_world, browser):
    # Move-in 1900-01-01 was accepted and the place paid for the whole month.
    act = _act(dorm_world, "dorm_a")
    accountant = browser("dorm_accountant")
    submit = _task(act, "submit_act")
    lines = [dict(line) for line, _ in dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)]
    for moved_in, reason in (("1900-01-01", "is before the birth date the IIN carries"),
                             (f"{act.period.year - 9}-{act.period.month:02d}-01", "more than 8 years before")):
        bad = [dict(line) for line in lines]
        bad[0]["moved_in"] = moved_in
        refused = accountant.post(f"/tasks/{submit.id}", lines_form(bad))
        assert refused.status_code == 422 and reason in refused.get_data(as_text=True), moved_in
        assert db.session.scalar(select(ActLine.id).where(ActLine.act_id == act.id)) is None, "nothing half-written"
    assert accountant.post(f"/tasks/{submit.id}", lines_form(lines)).status_code == 302


def test_discrepancies_value_dormitory_lines_at_their_contracts_rate_apart_from_the_schools(dorm_world, browser):
    """The discrepancies page values each excluded line as its instrument does (a dormitory place: the contract's
    rate for the days claimed, not a school grade's norm) and shows one instrument at a time — its withheld
    money equals the reconciliation's withheld by rule for the same instrument."""
    import re

    from app.people.access import scope_clause
    from app.reports.reconciliation import reconcile
    from tests.helpers import user

    nomad = _act(dorm_world, "dorm_b")
    month = nomad.period.strftime("%Y-%m")
    operator = browser("operator")

    def withheld(instrument: str) -> tuple[int, int]:
        page = operator.get(f"/reports/discrepancies?period={month}&instrument={instrument}").get_data(as_text=True)
        lines = int(re.search(r'id="total-excluded">(\d+)<', page).group(1))
        money = re.search(r'id="total-withheld">([^<]+)<', page).group(1)
        return lines, int(re.sub(r"\D", "", money))

    scope = scope_clause(user("operator"), Act.region_id, Act.school_id)
    for instrument in ("dormitory", "schools"):
        _rows, total = reconcile(nomad.period, scope, instrument=instrument)
        excluded = db.session.scalar(select(func.count(ActLine.id)).join(Act, Act.id == ActLine.act_id).where(
            Act.period == nomad.period, Act.instrument == instrument, ActLine.outcome == "excluded"))
        assert withheld(instrument) == (excluded, sum(total.withheld_by_rule.values())), instrument
    assert withheld("dormitory")[0] > 0
    page = operator.get(f"/reports/discrepancies?period={month}&instrument=dormitory").get_data(as_text=True)
    assert "contract's rate per place" in page
    assert "Unknown funding instrument" in operator.get(
        f"/reports/discrepancies?period={month}&instrument=nothing", follow_redirects=True).get_data(as_text=True)


def test_a_contract_registered_from_paper_says_so_instead_of_not_signed(dorm_world, browser):
    """An active contract read "in force" beside "Not signed yet." (it was signed on paper before the system)."""
    from app.contracts.models import Contract

    contract = db.session.scalars(select(Contract).where(
        Contract.school_id == _act(dorm_world, "dorm_a").school_id)).first()
    assert contract.status == "active" and not contract.signatures
    page = browser("official").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Signed on paper and registered in the system" in page and "Not signed yet." not in page


def test_a_dormitory_contract_is_not_amended_by_the_schools_amendment(dorm_world, browser):
    """The amendment prices places per school level by the order's norms: applied to a dormitory contract, its
    monthly cap became 0 ₸ and every place of the next act was withheld."""
    from app.contracts.models import Contract, ContractAmendment

    contract = db.session.scalars(select(Contract).where(
        Contract.school_id == _act(dorm_world, "dorm_a").school_id)).first()
    cap = contract.monthly_cap_tiyn
    official = browser("official")
    assert 'id="amend-link"' not in official.get(f"/contracts/{contract.id}").get_data(as_text=True)
    page = official.get(f"/contracts/{contract.id}/amend", follow_redirects=True).get_data(as_text=True)
    assert "A dormitory contract cannot be amended here" in page
    response = official.post(f"/contracts/{contract.id}/amend", {
        "places_primary": "40", "places_basic": "0", "places_secondary": "0", "amount": "9120000",
        "period_end": contract.period_end.isoformat(), "effective_from": "2026-11", "revision": "0", "confirm": "true",
        "rationale": "More students moved into the residence this autumn than planned."})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).monthly_cap_tiyn == cap > 0
    assert db.session.scalar(select(func.count(ContractAmendment.id))) == 0


def test_the_contracts_list_shows_a_dormitory_contracts_places(dorm_world, browser):
    """The list showed 0 places for every dormitory contract (the schools' per-level places), beside its page's 30."""
    import re

    from sqlalchemy import select

    from app.contracts.models import Contract
    from app.extensions import db

    page = browser("head").get("/contracts").get_data(as_text=True)
    dorm = [c for c in db.session.scalars(select(Contract)) if c.dormitory_terms is not None and c.number in page]
    assert dorm, "the head sees the region's dormitory contracts"
    for contract in dorm:
        row = re.search(rf">{re.escape(contract.number)}</a>.*?</tr>", page, re.S)
        assert row and f'data-label="Places">{contract.dormitory_terms.places}</td>' in row.group(0), contract.number


def test_a_refused_move_in_date_is_said_with_dates_in_the_readers_form(dorm_world, browser):
    """New-user probe: a dormitory accountant reading Russian was told "дата заселения 1900-01-01 раньше даты
    рождения по ИИН (2004-06-10)" and "… до 2026-11" — dates and the month as the database writes them, beside
    dates in words on the same page."""
    act = _act(dorm_world, "dorm_a")
    accountant = browser("dorm_accountant")
    accountant.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    submit = _task(act, "submit_act")
    lines = [dict(line) for line, _ in dorm_world["dormitories"]["worlds"]["dorm_a"].lines_for(act.period)]
    for moved_in in ("1900-01-01", f"{act.period.year - 9}-{act.period.month:02d}-01"):
        bad = [dict(line) for line in lines]
        bad[0]["moved_in"] = moved_in
        refused = accountant.post(f"/tasks/{submit.id}", lines_form(bad))
        said = re.findall(r'invalid-feedback[^>]*>([^<]*)<', refused.get_data(as_text=True))
        said = [text for text in said if lines[0]["iin"] in text]
        assert refused.status_code == 422 and said, moved_in
        assert not re.search(r"\b\d{4}-\d{2}(-\d{2})?\b", said[0]), said[0]
        assert "1900-01-01" != moved_in or "1 янв. 1900" in said[0].replace("\u202f", " ")
    assert db.session.scalar(select(ActLine.id).where(ActLine.act_id == act.id)) is None, "nothing half-written"
