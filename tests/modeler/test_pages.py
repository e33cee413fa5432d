"""The modeler through its pages: only process owners change models; every page renders; failed
service tasks are retried from the operator's instance view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.engine import runtime
from app.engine.models import ProcessInstance, ProcessModelVersion
from app.engine.operators import operator
from app.engine.publishing import create_draft, publish_version
from app.extensions import db
from app.modeler.models import InstanceMigration
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.modeler.test_versions import review_only, three_step


def test_model_list_shows_versions_instances_and_last_change(trial_v1, browser):
    runtime.start_instance("trial", title="one", actor=user("owner"))
    db.session.commit()
    page = browser("owner").get("/modeler/").get_data(as_text=True)
    assert "Test trial" in page and "v1 published" in page and "v1 · running: 1" in page
    assert "Version published" in page


@pytest.mark.parametrize("username", ["accountant", "official", "operator"])
def test_only_process_owners_change_models(trial_v1, browser, username):
    someone = browser(username)
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    assert someone.get("/modeler/").status_code == 403
    assert someone.post_json(f"/modeler/versions/{draft.id}/save", {"files": {}}).status_code == 403
    for url in (f"/modeler/versions/{draft.id}/publish", f"/modeler/versions/{trial_v1.id}/retire",
                f"/modeler/models/{trial_v1.process_model_id}/start", f"/modeler/versions/{trial_v1.id}/migrate"):
        assert someone.post(url).status_code == 403, url
    db.session.refresh(draft)
    assert draft.status == "draft"


def test_auditor_reads_but_cannot_change(trial_v1, browser):
    auditor = browser("auditor")
    assert auditor.get(f"/modeler/versions/{trial_v1.id}").status_code == 200
    assert auditor.post(f"/modeler/versions/{trial_v1.id}/draft").status_code == 403


def test_save_publish_and_start_through_the_pages(trial_v1, browser):
    owner = browser("owner")
    owner.get(f"/modeler/models/{trial_v1.process_model_id}")
    response = owner.post(f"/modeler/versions/{trial_v1.id}/draft")
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert response.headers["Location"].endswith(f"/modeler/versions/{draft.id}")
    assert "bpmn-modeler.production.min.js" in owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)

    form_ref = '<spiffworkflow:property name="formJsonSchemaFilename" value="fill.schema.json" />'
    bad = three_step()["trial.bpmn"].replace(form_ref, form_ref.replace("fill.schema", "gone.schema"), 2)
    saved = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": bad}}).get_json()
    assert {p["element_id"] for p in saved["problems"]} == {"fill", "check"}
    refused = owner.post(f"/modeler/versions/{draft.id}/publish")
    assert refused.headers["Location"].endswith(f"/modeler/versions/{draft.id}")
    assert db.session.get(ProcessModelVersion, draft.id).status == "draft"

    good = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": three_step()["trial.bpmn"]}})
    assert good.get_json()["problems"] == []
    assert owner.post(f"/modeler/versions/{draft.id}/publish").status_code == 302
    assert db.session.get(ProcessModelVersion, draft.id).status == "published"

    started = owner.post(f"/modeler/models/{trial_v1.process_model_id}/start")
    instance = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    assert started.headers["Location"].endswith(f"/instances/{instance.id}")
    assert instance.model_version_id == draft.id
    assert "version 2" in owner.get(f"/instances/{instance.id}").get_data(as_text=True)


def test_bad_save_payload_is_a_clear_error(trial_v1, browser):
    owner = browser("owner")
    owner.get("/modeler/")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    assert owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"../x.bpmn": "a"}}).status_code == 400
    # "..\\..\\evil.schema.json" was saved, exported into the zip as such (a path out of the folder for Windows's
    # unzip) and then refused by our own import.
    for name in ("..\\..\\evil.schema.json", "C:evil.bpmn", ".hidden.bpmn", "tab\tname.bpmn", "x" * 121 + ".bpmn",
                 "notes.txt", ""):
        refused = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {name: "{}"}})
        assert refused.status_code == 400 and "Unsupported file name" in refused.get_json()["error"], name
    db.session.refresh(draft)
    assert not any("evil" in name or "hidden" in name for name in draft.files)
    assert owner.post_json(f"/modeler/versions/{trial_v1.id}/save", {"files": {}}).status_code == 409
    # The last diagram cannot be deleted: the editor and the export of such a draft were 500s.
    diagrams = [name for name in draft.files if name.endswith(".bpmn")]
    refused = owner.post_json(f"/modeler/versions/{draft.id}/save", {"delete": diagrams})
    assert refused.status_code == 422 and "last .bpmn file cannot be deleted" in refused.get_json()["error"]
    db.session.refresh(draft)
    assert [name for name in draft.files if name.endswith(".bpmn")] == diagrams
    assert owner.get(f"/modeler/versions/{draft.id}").status_code == 200
    assert owner._request("get", f"/modeler/versions/{draft.id}/export.zip").status_code == 200


def test_diff_migrate_and_revert_pages(trial_v1, browser):
    owner_user = user("owner")
    stays = runtime.start_instance("trial", title="stays", actor=owner_user)
    v2, _ = publish_version(three_step())
    v3, _ = publish_version(review_only())
    db.session.commit()
    owner = browser("owner")
    diff = owner.get(f"/modeler/models/{trial_v1.process_model_id}/diff?old={trial_v1.id}&new={v2.id}")
    assert diff.status_code == 200 and 'data-added="check"' in diff.get_data(as_text=True)

    refused = owner.get(f"/modeler/versions/{v3.id}/migrate").get_data(as_text=True)
    assert 'data-allowed="no"' in refused and "The active step Fill in was removed in version 3" in refused

    dry = owner.get(f"/modeler/versions/{v2.id}/migrate").get_data(as_text=True)
    assert f'data-instance="{stays.id}" data-allowed="yes"' in dry
    owner.post(f"/modeler/versions/{v2.id}/migrate", {"instance_id": str(stays.id)})
    assert db.session.get(ProcessInstance, stays.id).model_version_id == v2.id
    record = db.session.scalars(select(InstanceMigration)).one()
    assert f"data-migration=\"{record.id}\"" in owner.get(f"/modeler/models/{trial_v1.process_model_id}").get_data(
        as_text=True)
    owner.post(f"/modeler/migrations/{record.id}/revert")
    assert db.session.get(ProcessInstance, stays.id).model_version_id == trial_v1.id


FLAKY = {"fail": True}


@operator("tests/flaky", {}, "A service that fails until told otherwise (tests only).")
def _flaky(ctx):
    if FLAKY["fail"]:
        raise RuntimeError("registry unavailable")
    return {"ok": True}


def test_failed_service_task_is_shown_and_retried_by_the_operator(world, browser):
    svc = ('<bpmn:serviceTask id="call" name="Call registry"><bpmn:extensionElements>'
           '<spiffworkflow:serviceTaskOperator id="tests/flaky" resultVariable="r"><spiffworkflow:parameters />'
           '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
           '</bpmn:serviceTask>')
    timer = ('<bpmn:intermediateCatchEvent id="wait" name="Wait an hour"><bpmn:timerEventDefinition>'
             '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    files = chain_model("flaky", [("wait", "Operator", timer), ("call", "Operator", svc),
                                  ("pay", "Operator", user_task("pay", "Pay"))])
    publish_version(files)
    FLAKY["fail"] = True
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) as frozen:
        instance = runtime.start_instance("flaky", title="flaky", actor=user("owner"))
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
        instance = db.session.get(ProcessInstance, instance.id)
        assert instance.status == "error" and "registry unavailable" in instance.error_message

        operator_page = browser("operator")
        page = operator_page.get(f"/instances/{instance.id}").get_data(as_text=True)
        assert 'data-failed="call"' in page and 'id="retry-step"' in page
        assert browser("accountant").post(f"/instances/{instance.id}/retry").status_code == 404

        operator_page.post(f"/instances/{instance.id}/retry", {"confirm": "yes", "reason": "registry back"})
        assert db.session.get(ProcessInstance, instance.id).status == "error", "still failing"
        FLAKY["fail"] = False
        operator_page.post(f"/instances/{instance.id}/retry", {"confirm": "yes", "reason": "registry back"})
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "running" and instance.error_message is None
    page = operator_page.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert 'data-active="pay"' in page and 'data-failed=""' in page


def test_a_save_that_drops_what_the_editor_cannot_show_is_refused_and_saves_nothing(trial_v1, browser):
    """A tester saved a SpiffArena model unchanged in the editor: its message payloads and variables, a signal's
    payload and multi-instance data references were gone (the editor drops a half-known vocabulary's elements),
    and the model published and ran without them."""
    owner = browser("owner")
    owner.post(f"/modeler/versions/{trial_v1.id}/draft")
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    extension = ('<bpmn:extensionElements><spiffworkflow:messagePayload>{"act": act_id}'
                 '</spiffworkflow:messagePayload><camunda:properties><camunda:property name="a" value="b"/>'
                 '</camunda:properties><spiffworkflow:preScript>x = 1</spiffworkflow:preScript>'
                 '</bpmn:extensionElements>')
    camunda = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    full = draft.files["trial.bpmn"].replace('<bpmn:userTask id="review" name="Review">',
                                             f'<bpmn:userTask id="review" name="Review">{extension}', 1)
    full = full.replace("<bpmn:definitions ", f"<bpmn:definitions {camunda}", 1)
    assert owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": full}}).status_code == 200

    # The editor's save: the payload gone (camunda's elements kept, under another prefix), the pre-script removed
    # in the side panel (which the owner may do).
    dropped = full.replace('<spiffworkflow:messagePayload>{"act": act_id}</spiffworkflow:messagePayload>', "")
    dropped = dropped.replace("<spiffworkflow:preScript>x = 1</spiffworkflow:preScript>", "")
    dropped = dropped.replace("camunda:", "cam:").replace("xmlns:camunda=", "xmlns:cam=")
    response = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": dropped}})
    assert response.status_code == 422
    assert response.get_json()["error"] == (
        "Nothing was saved: saving trial.bpmn would remove what this editor cannot show (spiffworkflow:messagePayload "
        "in review). Change those elements in the exported model's files and import it again.")
    assert db.session.get(ProcessModelVersion, draft.id).files["trial.bpmn"] == full

    kept = full.replace("<spiffworkflow:preScript>x = 1</spiffworkflow:preScript>", "")  # the panel's own: allowed
    assert owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": kept}}).status_code == 200
    # An element deleted (here: replaced by another of a new id) takes its extensions with it.
    gone = dropped.replace('"review"', '"review2"')
    assert owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": gone}}).status_code == 200


def test_a_save_from_an_editor_opened_before_another_save_is_refused_and_changes_nothing(trial_v1, browser):
    """Two tabs on one draft: the editor posts every file it loaded, so the later save silently put back what the
    other tab had changed. Each save now carries the draft's hash as loaded; a stale one is a 409."""
    import json
    import re

    owner, colleague = browser("owner"), browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    page = owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True)
    config = json.loads(re.search(r'id="modeler-config">(.*?)</script>', page, re.S).group(1))
    loaded = config["contentHash"]
    assert loaded == draft.content_hash

    renamed = three_step()["trial.bpmn"].replace('name="Review"', 'name="Review by the colleague"')
    first = colleague.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": renamed},
                                                                       "base": loaded})
    assert first.status_code == 200 and first.get_json()["hash"] != loaded
    stale = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": config["files"], "base": loaded})
    assert stale.status_code == 409 and "saved by someone else" in stale.get_json()["error"]
    db.session.expire_all()
    assert "Review by the colleague" in db.session.get(ProcessModelVersion, draft.id).files["trial.bpmn"]
    again = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": renamed},
                                                                   "base": first.get_json()["hash"]})
    assert again.status_code == 200
    assert owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {}, "base": 7}).status_code == 400


def test_a_form_saved_from_a_page_opened_before_another_save_is_refused(trial_v1, browser):
    import re

    owner, colleague = browser("owner"), browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    url = f"/modeler/versions/{draft.id}/forms/fill.schema.json"
    base = re.search(r'name="base" value="([0-9a-f]+)"', owner.get(url).get_data(as_text=True)).group(1)
    schema = '{"type": "object", "properties": {"amount": {"type": "integer", "title": "%s"}}}'
    assert colleague.post(url, {"schema": schema % "Colleague", "uischema": "{}", "base": base}).status_code == 302
    stale = owner.post(url, {"schema": schema % "Mine", "uischema": "{}", "base": base})
    assert stale.status_code == 422 and "saved by someone else" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert "Colleague" in db.session.get(ProcessModelVersion, draft.id).files["fill.schema.json"]


def _config(page: str) -> dict:
    import json
    import re

    return json.loads(re.search(r'<script type="application/json" id="modeler-config">(.*?)</script>', page,
                                re.S).group(1))


def test_a_published_diagram_says_which_names_it_shows_as_written_and_the_editor_which_it_would(trial_v1, browser):
    """A Kazakh owner saw the model's English names and empty Kazakh name fields, and nothing said what a reader of
    Kazakh would see: the published diagram names the words it shows as written, an empty name field says that the
    name above is shown until it is filled in."""
    from tests.modeler.factory import two_step

    files = two_step()
    bpmn = next(name for name in files if name.endswith(".bpmn"))
    files[bpmn] = files[bpmn].replace('name="Fill in"', 'name="Zz unknown words"', 1)
    assert "Zz unknown words" in files[bpmn]
    version, _ = publish_version(files)
    db.session.commit()
    auditor = browser("auditor")
    auditor.post("/locale", {"locale": "kk", "next": "/inbox"})
    notices = [n["message"] for n in _config(auditor.get(f"/modeler/versions/{version.id}").get_data(as_text=True))[
        "notices"]]
    assert any("'Zz unknown words'" in n for n in notices), notices
    draft = create_draft(version.process_model, user("owner"), from_version=version)
    db.session.commit()
    owner = browser("owner")
    config = _config(owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True))
    assert config["nameFallback"] and not any("'Zz unknown words'" in n["message"] for n in config["notices"])


def test_a_drafts_empty_name_fields_say_the_words_readers_of_that_language_see(world, browser):
    """A Russian process owner opened a draft of the monthly act: its diagram and the process's name in English,
    the Kazakh and Russian name fields empty, saying only "readers see the name above (or its words as Tapsyrys
    translates them)" — not which words. Each empty field now shows the words its readers see."""
    from app.engine.models import ProcessModel

    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    draft = create_draft(model, user("owner"), from_version=model.versions[-1])
    db.session.commit()
    owner = browser("owner")
    owner.post("/locale", {"locale": "ru", "next": "/inbox"})
    config = _config(owner.get(f"/modeler/versions/{draft.id}").get_data(as_text=True))

    seen = config["namesSeen"]
    assert seen["Monthly act of services rendered"]["kk"] and seen["Monthly act of services rendered"]["ru"]
    assert seen["Submit monthly act"] == {"kk": "Ай сайынғы актіні ұсыну", "ru": "Подать ежемесячный акт"}
    assert "{name}" in config["nameSeenAs"]
