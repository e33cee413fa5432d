"""Every route that names a record, asked by people who may not see it: nothing shown, nothing changed.

The routes are read from ``app.url_map``, so a page or API call added tomorrow is swept the day it is added; a route
whose URL names a kind of record this sweep does not know fails the test until it is declared below (with the
records it names, or among the arguments that name nobody's records).

Outsiders are of the same region and another school, of another region, and anonymous; each asks for every record of
the demo world that is not theirs — by GET, by a form POST with a valid CSRF token, and by the API with a body its
schema accepts (so the answer is about the record, not the body). The only right answers are 403 and 404 (401 or the
login page for the anonymous), and no audit event, read mark, revocation or filter may change.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act, ActLine, OutsideSettlement
from app.applications.models import Application
from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractAct
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.inbox import operations as inbox
from app.inbox.models import SavedFilter, TaskAttachment
from app.inbox.queries import InboxFilter
from app.notifications.models import Notification
from app.orders.models import StateOrder
from app.payments.models import Payment
from app.people.access import can_see
from app.people.models import Organisation
from app.people.substitutions import Substitution, create_substitution
from app.people.tokens import ApiToken, create_token
from tests.dormitories.conftest import dorm_world  # noqa: F401 - the dormitories' world, swept as well
from tests.helpers import school, user
from tests.inbox.conftest import make_official2

#: URL arguments naming no one's records: national registers and role-gated pages (the role sweeps cover them —
#: tests/admin/test_auditor_read_only.py, tests/security/test_step_roles.py), the public portal, file names, formats.
NAMES_NO_ONES_RECORD = {"version_id", "model_id", "migration_id", "region_id", "org_id", "user_id", "import_id",
                        "run_id", "fmt", "filename", "name", "dataset", "start_year", "end_year", "school_bin",
                        "package", "check_id"}

#: What an API call that names a record is sent: a body its schema accepts, so a 422 cannot stand in for the 404.
API_BODIES = {
    "api.complete": {"data": {"decision": "accept"}},
    "api.review_line": {"decision": "exclude", "comment": "Not on the paper register"},
    "lifecycle_api.sign": {"password": "pw", "document_sha256": "0" * 64},
    "lifecycle_api.amend": {"revision": 0, "places_primary": 1, "places_basic": 1, "places_secondary": 1,
                            "amount_cap_tiyn": 100, "period_end": "2030-05-31", "effective_from": "2030-01-01",
                            "rationale": "More places for the new building"},
    "payments_api.record_return": {"returned_on": "2026-11-05", "reason": "bank_refused", "reference": "BANK-1"},
    "payments_api.pay_again": {"order_number": "PP-SWEEP-1", "paid_on": "2026-11-05"},
    "payments_api.confirm_account": {"iban": "KZ000000000000000000"},
    "contract_money_api.change_account": {"iban": "KZ86125KZT5004100100", "rationale": "The bank closed the account"},
    "contract_money_api.settle_outside": {"line_id": 1, "seen": 0, "amount_tiyn": 100, "order_number": "PP-SWEEP-2",
                                          "paid_on": "2026-11-05"},
    "contract_money_api.return_settlement": {"returned_on": "2026-11-05", "reason": "bank_refused",
                                             "reference": "BANK-1"},
}

#: What a form POST carries: enough of every form for a view without its check to do something.
FORM = {"decision": "accept", "body": "I was here", "confirm": "yes", "reason": "Because I can", "name": "x",
        "value": "1", "status": "confirmed", "comment": "x", "password": "pw", "locale": "en"}

OUTSIDERS = ["accountant2", "accountant3", "official_almaty", None]

#: Form POSTs on a record that some who see it may not make: the route's own check of the role, which no outsider
#: reaches (they do not see the record). endpoint → those who see every such record and may not act on it.
SEE_BUT_MAY_NOT_ACT = {
    # carried top-ups settled outside the acts: the operator pays, the contract's region's department writes off
    "contracts.settle_outside": ["auditor", "accountant4"],
    # the contract's bank account: its region's department changes it by an agreement
    "contracts.change_account": ["auditor", "accountant4", "operator"],
}
#: a dormitory's accountant, and one of a dormitory still applying, in the world with the dormitories
DORMITORY_OUTSIDERS = ["dorm_accountant2", "dorm_applicant"]


def _scoped_records() -> dict[str, list[tuple[dict, int | None, int | None]]]:
    """URL argument → (the URL's values, region, organisation) of every record it can name, one per owner."""
    def one_per_owner(rows):
        seen, kept = set(), []
        for values, region_id, organisation_id in rows:
            if (region_id, organisation_id) not in seen:
                seen.add((region_id, organisation_id))
                kept.append((values, region_id, organisation_id))
        return kept

    def rows(query, make):
        return one_per_owner(make(row) for row in db.session.scalars(query))

    return {
        # a line's URL names its act too: the line's own scope decides
        "line_id": rows(select(ActLine).join(Act), lambda li: ({"line_id": li.id, "act_id": li.act_id},
                                                                li.act.region_id, li.school_id)),
        # a payment's URL names its act too: the act's scope decides (a returned payment is recorded on its act)
        "payment_id": rows(select(Payment).join(Act), lambda p: ({"payment_id": p.id, "act_id": p.act_id},
                                                                 p.act.region_id, p.act.school_id)),
        "act_id": rows(select(Act), lambda a: ({"act_id": a.id}, a.region_id, a.school_id)),
        # a settlement's URL names its contract too (so it comes first): the contract's scope decides
        "settlement_id": one_per_owner(
            ({"settlement_id": row.id, "contract_id": contract.id}, contract.region_id, contract.school_id)
            for row, contract in db.session.execute(
                select(OutsideSettlement, Contract)
                .join(ContractAct, ContractAct.act_id == OutsideSettlement.original_act_id)
                .join(Contract, Contract.id == ContractAct.contract_id))),
        "contract_id": rows(select(Contract), lambda c: ({"contract_id": c.id}, c.region_id, c.school_id)),
        "application_id": rows(select(Application), lambda a: ({"application_id": a.id}, a.region_id, a.school_id)),
        "order_id": rows(select(StateOrder), lambda o: ({"order_id": o.id}, o.region_id, None)),
        "instance_id": rows(select(ProcessInstance), lambda i: ({"instance_id": i.id}, i.region_id,
                                                                  i.organisation_id)),
        "task_id": rows(select(HumanTask), lambda t: ({"task_id": t.id}, t.region_id, t.organisation_id)),
        "attachment_id": one_per_owner(
            ({"attachment_id": a_id}, region_id, organisation_id) for a_id, region_id, organisation_id
            in db.session.execute(select(TaskAttachment.id, HumanTask.region_id, HumanTask.organisation_id)
                                  .join(HumanTask))),
        "school_id": rows(select(Organisation).where(Organisation.kind == "school"),
                          lambda o: ({"school_id": o.id}, o.region_id, o.id)),
    }


def _personal_records() -> dict[str, list[tuple[dict, int]]]:
    """URL argument → (the URL's values, owner's user id) of records that are one person's."""
    return {
        "note_id": [({"note_id": n.id}, n.user_id) for n in db.session.scalars(select(Notification))],
        "filter_id": [({"filter_id": f.id}, f.owner_id) for f in db.session.scalars(select(SavedFilter))],
        "token_id": [({"token_id": t.id}, t.user_id) for t in db.session.scalars(select(ApiToken))],
        "sub_id": [({"sub_id": s.id}, s.principal_id) for s in db.session.scalars(select(Substitution))],
    }


def _outsider(person, region_id, organisation_id) -> bool:
    """Neither the record's organisation nor — for a record of a whole region (an order) — its region."""
    if person is None:
        return True
    if can_see(person, region_id, organisation_id):
        return False
    return not (organisation_id is None and region_id is not None and person.region_id == region_id)


def _url(rule, values: dict) -> str:
    url = rule.rule
    for name in rule.arguments:
        value = values.get(name, "csv")
        url = re.sub(r"<[^<>]*\b" + re.escape(name) + ">", str(value), url)
    return url


def _state() -> tuple:
    """What an outsider's request must leave as it was."""
    return (db.session.scalar(select(func.count()).select_from(AuditEvent)),
            sorted(db.session.execute(select(Notification.id, Notification.read_at)).all()),
            sorted(db.session.execute(select(ApiToken.id, ApiToken.revoked_at)).all()),
            sorted(db.session.execute(select(Substitution.id, Substitution.revoked_at)).all()),
            db.session.scalar(select(func.count()).select_from(SavedFilter)))


def _others_records() -> None:
    """What the demo world lacks: an attachment, a private and a shared filter, a token, a substitution, a payment."""
    accountant, official = user("accountant"), user("official")
    task = db.session.scalars(select(HumanTask).where(HumanTask.organisation_id == school("Bilim Innovation School").id,
                                                      HumanTask.status == "open")).first()
    inbox.add_attachment(task, accountant, "register.txt", b"the paper register")
    inbox.save_filter(official, "Overdue", InboxFilter(), False)
    inbox.save_filter(official, "Ours", InboxFilter(), True)
    create_token(accountant, "accounting system", ["read"], 5)
    deputy = make_official2()  # a deputy holds the principal's role; the demo has one official per department
    create_substitution(official, deputy.id, clock.today(), clock.today() + timedelta(days=3), official)
    # a payment row, written as it is stored, so the routes that name one (recording its return) are swept
    act = db.session.scalars(select(Act).order_by(Act.id)).first()
    db.session.add(Payment(act_id=act.id, order_number="PP-SWEEP-1", paid_on=clock.today(),
                           amount_tiyn=act.amount_tiyn or 0, registered_by_id=user("operator").id,
                           registered_at=clock.now()))
    # a carried top-up paid outside the acts, so the route recording the bank's return of it is swept
    link = db.session.scalars(select(ContractAct).order_by(ContractAct.id)).first()
    line = db.session.scalars(select(ActLine).order_by(ActLine.id)).first()
    db.session.add(OutsideSettlement(original_act_id=link.act_id, original_line_id=line.id, seq=0, period=link.period,
                                     kind="paid", amount_tiyn=100, rule_code="withdrawn", corrected_amount_tiyn=0,
                                     order_number="PP-SWEEP-OUT", paid_on=clock.today(),
                                     recorded_by_id=user("operator").id, recorded_at=clock.now()))
    db.session.commit()


def _refused(response, person) -> bool:
    if person is None:
        return response.status_code == 401 or (response.status_code == 302
                                               and "/login" in response.headers.get("Location", ""))
    return response.status_code in (403, 404)


@pytest.mark.parametrize("world_name", ["world", "dorm_world"])
def test_nobody_reaches_records_that_are_not_theirs_on_any_route(world_name, request, browser, app_ctx):
    request.getfixturevalue(world_name)
    _others_records()
    scoped, personal = _scoped_records(), _personal_records()
    rules = [rule for rule in app_ctx.url_map.iter_rules() if rule.arguments and rule.endpoint != "static"]
    unknown = {(rule.rule, name) for rule in rules for name in rule.arguments
               if name not in scoped and name not in personal and name not in NAMES_NO_ONES_RECORD}
    assert not unknown, f"declare what these URL arguments name (records of whom, or no one's): {sorted(unknown)}"
    kinds = [*scoped, *personal]  # the line before the act: a line's URL names both
    swept = [rule for rule in rules if rule.arguments & set(kinds)]
    api_posts = {rule.endpoint for rule in swept if "POST" in rule.methods and rule.rule.startswith("/api/")}
    missing = api_posts - API_BODIES.keys()
    assert not missing, f"give these API calls a body their schema accepts: {missing}"

    outsiders = OUTSIDERS + (DORMITORY_OUTSIDERS if world_name == "dorm_world" else [])
    clients = {username: browser(username) for username in outsiders}  # their logins are audited: before the count
    before = _state()
    wrong, asked = [], {rule.rule: 0 for rule in swept}
    for username, client in clients.items():
        person = user(username) if username else None
        for rule in sorted(swept, key=lambda r: r.rule):
            kind = next(name for name in kinds if name in rule.arguments)
            if kind in scoped:
                records = [values for values, region_id, organisation_id in scoped[kind]
                           if _outsider(person, region_id, organisation_id)]
            else:
                records = [values for values, owner_id in personal[kind] if person is None or owner_id != person.id]
            for values in records:
                url = _url(rule, values)
                if "GET" in rule.methods:
                    response = client.get(url)
                    asked[rule.rule] += 1
                    if not _refused(response, person):
                        wrong.append((username, "GET", url, response.status_code))
                if "POST" in rule.methods:
                    if url.startswith("/api/"):
                        response = client.post_json(url, API_BODIES[rule.endpoint])
                    else:
                        response = client.post(url, FORM)
                    asked[rule.rule] += 1
                    if not _refused(response, person):
                        wrong.append((username, "POST", url, response.status_code))
    assert wrong == []
    assert _state() == before
    unswept = [url for url, times in asked.items() if times == 0]
    assert not unswept, f"the world has no record of theirs that an outsider may not see for: {unswept}"


def test_who_sees_a_record_but_may_not_act_on_it_is_refused_by_the_routes_own_check(world, browser, app_ctx):
    """The outsiders above never reach a route's check of the role: the record is hidden from them first. Those who
    see it and may not act (the auditor, the school's own people) are asked too — 403, nothing changed."""
    scoped = _scoped_records()
    rules = {rule.endpoint: rule for rule in app_ctx.url_map.iter_rules()}
    people = {username for usernames in SEE_BUT_MAY_NOT_ACT.values() for username in usernames}
    clients = {username: browser(username) for username in sorted(people)}
    before = _state()
    wrong = []
    asked = {(endpoint, username): 0 for endpoint, usernames in SEE_BUT_MAY_NOT_ACT.items() for username in usernames}
    for endpoint, usernames in SEE_BUT_MAY_NOT_ACT.items():
        rule = rules[endpoint]
        kind = next(name for name in scoped if name in rule.arguments)
        for username in usernames:
            person = user(username)
            for values, region_id, organisation_id in scoped[kind]:
                if not can_see(person, region_id, organisation_id):
                    continue
                url = _url(rule, values)
                asked[(endpoint, username)] += 1
                response = clients[username].post(url, FORM)
                if response.status_code != 403:
                    wrong.append((username, url, response.status_code))
    assert 0 not in asked.values(), f"each sees a record of the route: {asked}"
    assert wrong == []
    assert _state() == before
