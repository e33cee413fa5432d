"""Users probe: a service operator's refusal reached the operator's staff as an incident in English only ("Act 7
does not belong to this process instance"), or in the language of the background pass that met it. The incident
keeps the refusal's msgid and values; the instance's page says it in the reader's language."""

from __future__ import annotations

import pytest

from app import clock
from app.background import tick
from app.engine import runtime
from app.engine.errors import DomainRefused
from app.engine.incidents import Incident
from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from app.words import N_
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, timer

#: a refusal whose words the catalogues have (kk, ru)
KEPT = N_("Only an active contract gets a year-end report.")


@operator("tests/refuse_year_end", {}, "Refuses as a year-end report of an inactive contract (tests only).")
def _refuse(ctx):
    raise DomainRefused.said(KEPT)


def _service(element_id: str, op_id: str, params: str = "") -> str:
    return (f'<bpmn:serviceTask id="{element_id}" name="Refuse"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{op_id}" resultVariable="r"><spiffworkflow:parameters>{params}'
            f'</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
            f'</bpmn:serviceTask>')


def _incident_after_a_pass(app_ctx, pid: str, op_id: str, params: str = "", data: dict | None = None) -> int:
    publish_version(chain_model(pid, [("wait", "Operator", timer()), ("refuse", "Operator", _service("refuse", op_id,
                                                                                                    params)),
                                      ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    with clock.FrozenClock(START) as frozen:
        instance = runtime.start_instance(pid, title=pid, actor=user("owner"), data=data)
        db.session.commit()
        instance_id = instance.id
        frozen.advance(hours=2)
        tick(app_ctx)  # the background pass, in the application's default language
    db.session.expire_all()
    assert db.session.query(Incident).filter_by(instance_id=instance_id).one().kind == "service"
    return instance_id


def _shown(browser, instance_id: int, locale: str) -> str:
    user("admin").locale = locale
    db.session.commit()
    page = browser("admin").get(f"/instances/{instance_id}").get_data(as_text=True)
    start = page.index('id="instance-error"')
    return page[start:start + 1500]


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_a_refusal_of_a_service_step_is_read_in_the_readers_language(app_ctx, world, browser, locale):
    from flask_babel import force_locale, gettext

    instance_id = _incident_after_a_pass(app_ctx, "refusing", "tests/refuse_year_end")
    with app_ctx.test_request_context(), force_locale(locale):
        expected = gettext(KEPT)
    assert (expected == KEPT) == (locale == "en"), "the catalogues have the words"
    shown = _shown(browser, instance_id, locale)
    assert shown.count(expected) == 2, "the instance's error and its incident's message"
    for other in {"kk", "ru", "en"} - {locale}:
        with app_ctx.test_request_context(), force_locale(other):
            assert gettext(KEPT) not in shown


def test_an_operator_refusing_another_instances_act_says_so_in_plain_words(app_ctx, world, browser):
    """The act's operator handed another record's number (a model passing a wrong variable): the refusal names the
    act in a sentence of the catalogue, not the exception's words."""
    instance_id = _incident_after_a_pass(app_ctx, "wrong_act", "acts/verify",
                                         '<spiffworkflow:parameter id="act_id" type="int" value="987654" />')
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "987654" in incident.message
    shown = _shown(browser, instance_id, "en")
    assert shown.count("Act 987654 does not belong to this process instance") == 2
    assert "said:" not in shown and "msgid" not in shown


@operator("tests/open_november_early", {}, "Opens November's act before November has ended (tests only).")
def _open_early(ctx):
    from datetime import date

    from app.contracts.operations import month_has_ended

    month_has_ended(date(2026, 11, 1))


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_a_refusal_naming_a_month_and_a_day_says_them_in_the_readers_language(app_ctx, world, browser, locale):
    """The month and the day are kept as dates and formatted for whoever reads the incident: kept formatted by the
    background pass, they read "ноябрь 2026" and "1 дек. 2026 г." on a Kazakh or an English page."""
    from datetime import date

    from flask_babel import force_locale, gettext

    from app.i18n import format_day, format_month

    instance_id = _incident_after_a_pass(app_ctx, "opening_early", "tests/open_november_early")
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "2026-11-01" in incident.message
    with app_ctx.test_request_context(), force_locale(locale):
        month, day = format_month(date(2026, 11, 1)), format_day(date(2026, 12, 1))
        expected = gettext("The act for %(month)s opens when the month has ended, on %(day)s.", month=month, day=day)
    shown = _shown(browser, instance_id, locale)
    assert shown.count(expected) == 2, (expected, shown)
    for other in {"kk", "ru", "en"} - {locale}:
        with app_ctx.test_request_context(), force_locale(other):
            assert format_month(date(2026, 11, 1)) not in shown


def test_a_kept_message_is_said_as_is_in_the_retry_choice(app_ctx, world, browser):
    """Two incidents on the page: the retry asks which, each named by its words — the kept form ("said:{...}") was
    shown there as it is stored."""
    instance_id = _incident_after_a_pass(app_ctx, "opening_twice", "tests/open_november_early")
    first = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    db.session.add(Incident(instance_id=instance_id, element_id="check", kind="other", message="Another failure",
                            attempts=1, status="open", created_at=first.created_at,
                            updated_at=first.created_at))
    db.session.commit()
    page = browser("admin").get(f"/instances/{instance_id}").get_data(as_text=True)
    choice = page[page.index('id="incident-id"'):]
    choice = choice[:choice.index("</select>")]
    assert "refuse: The act for November 2026 opens" in choice and "said:" not in choice


@operator("tests/rate_of_the_table", {}, "Takes a rate per place the rates table mistyped (tests only).")
def _rate_mistyped(ctx):
    from app.dormitories.ordering import usable_rate

    usable_rate(-5_000)


def test_a_rates_tables_unusable_rate_is_kept_and_its_amount_said_in_the_readers_form(app_ctx, world, browser):
    """A process owner's mistyped row of the dormitories' rates table stops the step: the incident said so in
    English only ("The rates table gave an unusable rate: -5000", tiyn); it keeps the words and the amount, said as
    an amount in the reader's form."""
    from flask_babel import force_locale

    from app.i18n import format_tenge

    instance_id = _incident_after_a_pass(app_ctx, "mistyped_rate", "tests/rate_of_the_table")
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "unusable rate per place" in incident.message
    for locale in ("en", "ru"):
        with app_ctx.test_request_context(), force_locale(locale):
            amount = format_tenge(-5_000)
        shown = _shown(browser, instance_id, locale)
        assert shown.count(amount) == 2, (locale, amount, shown)
    assert "-50.00" in amount.replace("\u00a0", " ").replace(",", ".") and "-5000" not in shown


def test_a_deadline_the_model_sets_past_a_year_is_said_in_the_readers_language(app_ctx, world, browser):
    """A process owner's sla_working_days of a billion stops the acceptance deadline's step: the incident said so in
    English for every reader; its words and values are kept."""
    instance_id = _incident_after_a_pass(app_ctx, "deadline_too_far", "acts/acceptance_deadline",
                                         data={"sla_working_days": 10**9})
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "sla_working_days" in incident.message
    assert _shown(browser, instance_id, "en").count(
        "The model sets sla_working_days to 1000000000: at most 260 working days (about a year).") == 2


@operator("tests/norms_mistyped", {}, "Opens an order with a norms table's mistyped row (tests only).")
def _norms_mistyped(ctx):
    from app.orders.operations import open_order

    open_order(None, [("primary", "urban", 0)])


def test_a_norms_tables_mistyped_row_is_kept_as_words_and_values(app_ctx, world, browser):
    """The state order's norms table is the process owner's: a row of norm 0 stopped the order's opening with
    "Norms table gave an unusable row: 'primary', 'urban', 0" for every reader."""
    instance_id = _incident_after_a_pass(app_ctx, "norms_mistyped", "tests/norms_mistyped")
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and '"norm": "0"' in incident.message
    assert _shown(browser, instance_id, "en").count("The norms table gave an unusable row: level primary, locality "
                                                    "urban, monthly norm 0") == 2


@pytest.mark.parametrize("step", ["expire", "check_eligibility"])
def test_an_application_step_met_out_of_turn_keeps_its_refusal_as_words(app_ctx, world, step):
    """The window's close and the eligibility check are service steps: an application submitted just as the window
    closed, or checked twice, stopped the step with an English sentence for every reader ("Only an unsubmitted
    application expires.")."""
    from app.applications import operations
    from app.applications.models import Application
    from app.engine.errors import stored_words

    application = Application(status="submitted" if step == "expire" else "draft")
    with pytest.raises(DomainRefused) as refused:
        getattr(operations, step)(application)
    assert stored_words(refused.value).startswith("said:")


@operator("tests/ask_nedb_down", {}, "Asks an NEDB service nobody answers for (tests only).")
def _ask_nedb_down(ctx):
    from app.registry.http import HttpStudentRegistry

    HttpStudentRegistry("http://127.0.0.1:9/api", timeout=2).enrollments_for(["791028302728"])


def test_the_registry_service_down_in_a_service_step_is_said_in_the_readers_language(app_ctx, world, browser):
    """NEDB's service down in a step of a background pass: the incident read "NEDB service error at
    /enrollments/search: <urlopen error [Errno 111] Connection refused>" alone, for every reader."""
    instance_id = _incident_after_a_pass(app_ctx, "nedb_down", "tests/ask_nedb_down")
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "NEDB service error at /enrollments/search" in incident.message
    assert _shown(browser, instance_id, "en").count("The national registry (NEDB) could not be used (NEDB service "
                                                    "error at /enrollments/search") == 2


@operator("tests/start_unpublished", {}, "Starts a process no version of which is published (tests only).")
def _start_unpublished(ctx):
    runtime.start_instance("never_published", title="x")


def test_a_step_starting_a_process_with_no_published_version_is_said_in_the_readers_language(app_ctx, world,
                                                                                             browser):
    """A service step starting another process (the contract's, the year-end report's) whose model has no
    published version: the incident was the engine's English sentence for every reader."""
    instance_id = _incident_after_a_pass(app_ctx, "starts_unpublished", "tests/start_unpublished")
    incident = db.session.query(Incident).filter_by(instance_id=instance_id).one()
    assert incident.message.startswith("said:") and "never_published" in incident.message
    assert _shown(browser, instance_id, "en").count(
        "No published version of process model “never_published”: an administrator publishes the shipped models "
        "with “flask load-models”.") == 2
