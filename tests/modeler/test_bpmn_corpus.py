"""Issue 16 §1: BPMN 2.0 / DMN files from other modelers (tests/data/bpmn_corpus, sources in SOURCES.md).

Every file imports as a draft without a server error, through the page and through the CLI; every file that
uses only what the engine runs publishes and runs to the end (user tasks completed as they open). The rest
is reported per element, all at once, with id, name and line.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app import clock
from app.engine import runtime
from app.engine.models import HumanTask, ProcessInstance, ProcessModelVersion
from app.engine.publishing import publish_draft, save_draft, set_lane_role, version_problems
from app.extensions import db
from app.modeler.operations import decoded, export_zip, import_zip
from app.processes.trials import start_trial
from tests.helpers import user
from tests.operations.conftest import START

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn"))

#: Files the engine runs as drawn (after the owner marks a descriptive process executable and says who does
#: lane-less user tasks). The others are refused at save with a problem per element (test below).
RUNNABLE = {
    "flowable-message-event-subprocess-additional-tasks.bpmn",
    "flowable-converter-label-process.bpmn",
    "flowable-candidate-groups-expression.bpmn",
    "flowable-rest-annotation-on-sequence-flow.bpmn",
    "zeebe-process-test-message-start-event.bpmn",
    "zeebe-process-test-alternate-start-end.bpmn",
    "camunda-multi-tenancy-tenant-identifier-shared-definitions-subProcess.bpmn",
    "camunda-startevent-message-start-message_start_process.bpmn",
    "bpmnjs-deep-linking-nested-subprocesses.bpmn",
    "miwg-bonita-bpm-7-2-3-a.1.0-export.bpmn",
    "miwg-enterprise-architect-12--a.1.0-roundtrip.bpmn",
    "miwg-itp-commerce-process-mod-a.1.0-export.bpmn",
    "miwg-mid-innovator-15-1-1-110-a.1.0-export.bpmn",
    "miwg-modelio-3-5-a.2.0-export.bpmn",
    "miwg-open-bpmn-1-2-8-2-a.1.0-roundtrip.bpmn",
    "miwg-reference-a.1.0.bpmn",
    "miwg-sap-signavio-process-man-a.1.0-export.bpmn",
    "miwg-visual-paradigm-11-1-a.1.0-roundtrip.bpmn",
    "miwg-w4-bpmn-composer-v-10-4-a.1.0-export.bpmn",
    "miwg-actibpm-3-e-8-a.1.0-export.bpmn",
    "miwg-bpmn-modeler-for-confluence-3-38-a.1.0-export.bpmn",
    "miwg-ibm-blueworks-live-2014-a.1.0-export.bpmn",
    "miwg-ibo-prometheus-3-9-a.1.0-roundtrip.bpmn",
    "miwg-mid-bpanda-2019-05-a.1.0-export.bpmn",
    "miwg-modelfoundry-1-1-1-a.1.0-roundtrip.bpmn",
    "miwg-trisotech-bpmn-visio-5-0-1-a.1.0-export.bpmn",
    "bpmn-moddle-i18n.bpmn",
    "bpmn-moddle-vendor-bizagi-nested-ns-definition.bpmn",
    "tapsyrys-no-layout-annotation-group.bpmn",
    "tapsyrys-collapsed-subprocess-two-planes.bpmn",
    "tapsyrys-pools-message-flows.bpmn",
    "tapsyrys-escalation-transaction-links.bpmn",
    "tapsyrys-transaction-cancel.bpmn",
    "tapsyrys-signavio-semantic-prefix.bpmn",
    "tapsyrys-trisotech-semantic-prefix-norms.dmn",
    "flowable-dmn-multiple-conclusions.dmn",
    "tapsyrys-bpmnio-default-namespace-inclusive.bpmn",
    "tapsyrys-bpmnio-boundary-timer-cycle-quoted.bpmn",
    "tapsyrys-event-based-gateway-message-timer.bpmn",
    "tapsyrys-utf16-bom-kazakh-names.bpmn",
    "tapsyrys-utf8-bom-russian-names.bpmn",
    "tapsyrys-multi-instance-data-object-read.bpmn",
    "tapsyrys-signals-errors-terminate.bpmn",
    "tapsyrys-deep-nested-subprocesses.bpmn",
    "tapsyrys-large-parallel-branches.bpmn",
    "tapsyrys-call-activity-error-boundary.bpmn",
    "tapsyrys-multi-instance-cardinality.bpmn",
    "tapsyrys-multi-instance-sequential-completion.bpmn",
    "tapsyrys-multi-instance-parallel-completion.bpmn",
    "tapsyrys-standard-loop-maximum.bpmn",
    "tapsyrys-standard-loop-test-before.bpmn",
    "tapsyrys-inclusive-default-flow.bpmn",
    "tapsyrys-nested-child-lane-sets.bpmn",
    "tapsyrys-terminate-inside-subprocess.bpmn",
    "tapsyrys-terminate-inside-called-process.bpmn",
    "tapsyrys-windows-1251-russian-names.bpmn",
    "tapsyrys-utf16be-bom-kazakh-names.bpmn",
    "tapsyrys-eclipse-bpmn2-prefix.bpmn",
    "tapsyrys-di-missing-element.bpmn",
    "tapsyrys-ids-dots-unicode.bpmn",
    "tapsyrys-timers-iso-date-month-cycle-start.bpmn",
    "tapsyrys-event-subprocess-timer-non-interrupting.bpmn",
    "tapsyrys-two-executable-processes.bpmn",
    "tapsyrys-bpmnio-mixed-gateways.bpmn",
    "tapsyrys-bpmnio-joins-that-match.bpmn",
    "tapsyrys-bpmnio-loop-back-into-parallel-join.bpmn",
    "tapsyrys-multi-instance-cardinality-expression-parallel.bpmn",
    "tapsyrys-multi-instance-cardinality-expression-sequential.bpmn",
    "tapsyrys-timer-boundary-on-subprocess-interrupting.bpmn",
    "tapsyrys-timer-boundary-on-subprocess-non-interrupting.bpmn",
    "tapsyrys-manual-task.bpmn",
    "tapsyrys-bpmnio-bare-message-same-name.bpmn",
    # timers written bare, as Camunda, Flowable and Activiti write them (app.engine.timer_literals)
    "tapsyrys-camunda7-boundary-timer-cycle.bpmn",
    "flowable-activiti-act1623-event-gateway-timer.bpmn",
    "flowable-boundary-timer-multiple-timers-on-user-task.bpmn",
    # Activiti and jBPM test models with bare ISO timers (foreign-model probe 4)
    "activiti-intermediate-timer-catching-event.bpmn",
    "activiti-boundary-timer-non-interrupting-cycle.bpmn",
}

#: Files refused for a reason each: (element id, words of the reason). Every one was published before, then failed
#: or misbehaved when it ran — or would have, had it not been refused (Camunda's forms ran as bare confirmations).
REFUSED_FOR = {
    "tapsyrys-camunda7-invoice-form-fields-juel.bpmn": [
        ("StartEvent_1", "listener"), ("Task_approve", "form fields"), ("Task_approve", "input/output"),
        ("Flow_yes", "JUEL")],
    "tapsyrys-camunda7-form-fields-python-conditions.bpmn": [
        ("StartEvent_1", "listener"), ("Task_approve", "form fields"), ("Task_approve", "listener"),
        ("Task_approve", "input/output")],
    "tapsyrys-camunda8-zeebe-feel-called-element.bpmn": [
        ("approve", "zeebe:calledElement 'approval_c8'"), ("ship", "service operator"), ("start", "input/output"),
        ("f_big", "FEEL")],
    "tapsyrys-signavio-empty-conditions.bpmn": [("sid-yes", "needs a condition"), ("sid-no", "needs a condition")],
    "tapsyrys-bizagi-boolean-conditions.bpmn": [("Id_yes", "Write True"), ("Id_no", "Write False")],
    "tapsyrys-adonis-natural-language-conditions.bpmn": [("con.44.3", "text/plain"), ("con.44.4", "syntax")],
    "camunda-modeler-zeebe-user-task-form.bpmn": [("UserTask_1", "zeebe:formDefinition formId 'invoice-form'")],
    "camunda-usertask-task-camunda-forms-invoiceApproval.bpmn": [
        ("StartEvent_1", "start event's form"), ("UserTask_1", "camunda:formKey 'camunda-forms:app:task-form.form'")],
    "tapsyrys-bpmnio-readable-ids-start-end.bpmn": [("Start", "another id"), ("End", "another id")],
    "tapsyrys-camunda7-call-mapping-decision-ref.bpmn": [
        ("Activity_norm", "camunda:decisionRef 'student_norm'"), ("Activity_pay", "passes amount as total")],
    "tapsyrys-camunda8-script-subscription-form.bpmn": [
        ("Activity_total", "zeebe:script"), ("Event_paid", "correlationKey '=act_id'"),
        ("Activity_approve", "zeebe:formDefinition formKey")],
    "tapsyrys-trisotech-feel-expression-language.bpmn": [("_f_high", "expressionLanguage")],
    "tapsyrys-flowable-form-key-collection.bpmn": [
        ("sid-inspect", "written for Flowable"), ("sid-inspect", "flowable:formKey 'inspection-report'")],
    "tapsyrys-jbpm-drools-on-entry-script.bpmn": [("_3B1C", "onEntry-script"), ("_F4", "http://www.java.com/java")],
    "tapsyrys-jbpm-python-conditions.bpmn": [("_rev", "assignment")],
    "tapsyrys-multi-instance-collection-data-object.bpmn": [("tally", "'schools' is a data object")],
    "tapsyrys-data-store-compensation-conditional.bpmn": [
        ("store_ref", "Data stores"), ("comp", "Compensation"), ("throw_comp", "Compensation"),
        ("wait_funds", "conditional event")],
    "tapsyrys-complex-gateway.bpmn": [("cx", "Complex gateways")],
    "tapsyrys-ad-hoc-subprocess.bpmn": [("ah", "Ad hoc subprocesses")],
    "tapsyrys-event-subprocess-error-start.bpmn": [("hs", "started by an error or an escalation")],
    "tapsyrys-event-subprocess-escalation-non-interrupting.bpmn": [("hs", "started by an error or an escalation")],
    "tapsyrys-event-subprocess-message-interrupting.bpmn": [("ms", "interrupting event subprocess")],
    "tapsyrys-signal-escalation-end-events.bpmn": [("sig_end", "signal end event")],
    "tapsyrys-link-dangling.bpmn": [("go", "No link catch event named 'B'"), ("land", "No link throw event named 'A'")],
    "tapsyrys-camunda7-multi-instance-collection.bpmn": [("u", "written for Camunda 7")],
    "tapsyrys-transaction-cancel-uncaught.bpmn": [("cancel", "cancellation of the transaction 'tx'")],
    "tapsyrys-error-end-uncaught.bpmn": [("e", "Nothing catches the error 'Bad'")],
    "tapsyrys-name-too-long.bpmn": [("task.проверка.1", "longer than 255 characters")],
    "tapsyrys-conditional-flow-from-task.bpmn": [("f_a", "does not evaluate it")],
    "tapsyrys-camunda7-multi-instance-counter-condition.bpmn": [
        ("u", "'nrOfCompletedInstances' is a variable that Camunda, Flowable and Activiti set")],
    "tapsyrys-signavio-receive-task-no-message.bpmn": [("rt", "names no message")],
    "tapsyrys-bpmnio-message-end-no-message.bpmn": [("e", "nothing would receive what it sends")],
    # joins that do not match their splits (app.engine.gateway_matching), each run: test_gateway_matching.py
    "tapsyrys-bpmnio-parallel-split-exclusive-join.bpmn": [("Gateway_merge", "every step after it would run once")],
    "tapsyrys-bpmnio-parallel-split-implicit-merge.bpmn": [("Activity_approve", "it would run once for each")],
    "tapsyrys-signavio-exclusive-split-parallel-join.bpmn": [("sid-join", "only when 'Large amount?' chooses")],
    "tapsyrys-flowable-inclusive-split-exclusive-join.bpmn": [("collected", "with an inclusive gateway when")],
    "tapsyrys-camunda7-inclusive-split-parallel-join.bpmn": [("Gateway_join", "inclusive gateway 'Which documents?'")],
    "tapsyrys-bpmnio-event-gateway-parallel-join.bpmn": [("Gateway_join", "only when 'Reply or deadline' chooses")],
    "tapsyrys-bpmnio-boundary-timer-parallel-join.bpmn": [("Gateway_join", "when 'Review the act' ends that way")],
    "tapsyrys-bpmnio-reminder-exclusive-merge.bpmn": [("Gateway_merge", "'Review the act' and 'Remind the official'")],
    "tapsyrys-bpmnio-loop-back-before-parallel-split.bpmn": [
        ("Gateway_join", "the flow from 'Lines checked twice?' to 'Check again' leads from inside a branch")],
    "tapsyrys-signavio-loop-into-parallel-split.bpmn": [("sid-join", "pair tokens of different rounds")],
    # foreign-model classes, each alone (tests/modeler/test_foreign_constructs.py runs the ones that publish)
    "tapsyrys-message-start-receive-task-no-correlation.bpmn": [
        ("wait_bank", "cannot receive a message from outside an instance")],
    "tapsyrys-conditional-start-event.bpmn": [("s", "conditional event is checked only once")],
    "tapsyrys-business-rule-task-no-decision.bpmn": [("norm", "names no decision table")],
    "tapsyrys-script-task-groovy.bpmn": [("total", "written in groovy")],
    "camunda-modeler-subprocess-no-end.bpmn": [("SubProcess_1", "has no end event inside it")],
    "tapsyrys-aris-two-plain-start-events.bpmn": [
        ("start_paper", "at the first one drawn, 'Act uploaded on the portal'")],
    "miwg-itp-commerce-process-mod-b.1.0-export.bpmn": [
        ("_37c25b41-68cc-46d8-ad04-ddea7bc15106", "'_undefined' is what the drawing tool writes"),
        ("_eebe75c4-090c-4c09-9d66-6853978c5516", "make the flow the gateway's default flow")],
    "tapsyrys-bpmnio-bare-catch-events.bpmn": [("Event_paid", "names no message"), ("Event_go", "names no signal")],
    "tapsyrys-bpmnio-gateways-no-way-out.bpmn": [
        ("Gateway_amount", "Nothing leaves this gateway"), ("Gateway_documents", "Nothing leaves this gateway"),
        ("Gateway_reply", "Nothing leaves this gateway")],
    "flowable-multi-instance-sequential-juel-cardinality.bpmn": [("seqTasks", "(loopCardinality) is Python here")],
    "tapsyrys-spiffarena-multi-instance-manual-output-item.bpmn": [("Activity_visit", "output data item 'visit'")],
    "flowable-incomplete-signal-model.bpmn": [(None, "This signal has no id")],
    "flowable-activiti-process-with-long-id.bpmn": [
        ("ID1" + "0" * 99 + "2" + "0" * 100 + "3" + "0" * 98, "longer than 200 characters")],
    "tapsyrys-spiffarena-correlation-property-no-retrieval.bpmn": [
        ("CorrelationProperty_act", "has no retrieval expression")],
    "tapsyrys-flowable-event-subprocess-boundary.bpmn": [("boundarySignal", "attached to the event subprocess")],
    "tapsyrys-flowable-flows-without-ids.bpmn": [(None, "(from 'theStart' to 'theTask') has no id"),
                                                 (None, "(from 'theTask' to 'theEnd') has no id")],
    # real Flowable test models and Zeebe exports (foreign-model probe 3)
    "flowable-exclusive-gateway-no-id-on-sequence-flow.bpmn": [
        (None, "(from 'exclusiveGw' to 'theTask2') has no id"), (None, "has no condition and is not the default flow")],
    "flowable-inclusive-gateway-no-id-on-sequence-flow.bpmn": [
        (None, "has no condition and is not the default flow")],
    "flowable-java-service-delegation.bpmn": [
        ("javaService", "implemented for Activiti (class 'org.flowable.examples.bpmn.servicetask.ToUppercase')")],
    "flowable-http-service-task-array-node-response.bpmn": [
        ("sid-4A58EF90-64D5-400A-AE7B-88691CA7E092", "implemented for Flowable (type 'http')")],
    "flowable-dmn-task-one-decision.bpmn": [("theDecisionTask", "implemented for Flowable (type 'dmn')")],
    "flowable-form-property-default-value.bpmn": [("usertask", "form fields (formProperty)")],
    "flowable-script-task-result-variable-juel.bpmn": [
        ("theScriptTaskWithNewProcessVariableName", "(resultVariable)")],
    "zeebe-node-client-hello-world.bpmn": [
        ("ServiceTask_0g6tf5f", "implemented for Camunda 8 (Zeebe) (taskDefinition type 'console-log')")],
    "zeebe-node-client-conditional-pathway.bpmn": [("SequenceFlow_0jlw8w3", "written in FEEL")],
    "zeebe-node-client-throw-error.bpmn": [("Task_0bki2a1", "(taskDefinition type 'throw-bpmn-error-task')")],
    "zeebe-process-test-message-event.bpmn": [("Event_1qemgo0", "correlation key")],
    "zeebe-process-test-timer-start-event-daily.bpmn": [("timer", "A timer start event with a cycle")],
    "zeebe-pyzeebe-integration-test.bpmn": [("test-task", "(taskDefinition type 'test')")],
    # Activiti and jBPM test models (foreign-model probe 4)
    "activiti-tenancy-timer-date-no-offset.bpmn": [("theStart", "has no time zone offset")],
    "activiti-converter-callactivity.bpmn": [("callactivity", "'processId' is not part of the model")],
    "jbpm-boundary-timer-cycle-cron.bpmn": [("_8B5EE6E3-73EE-477D-8CC5-96F7C01DA7F0", "is a cron expression")],
    "jbpm-timer-start-date-juel.bpmn": [("_1", "written in JUEL")],
    # its bare PT1S is read as the duration; its script is Java (System.out.println) written without a scriptFormat
    "jbpm-intermediate-catch-timer-duration-iso.bpmn": [("_4", "This script is Java")],
    "jbpm-timer-boundary-cycle-iso.bpmn": [("_5", "This script is Java")],  # its bare R2/PT2S is read as the cycle
}


def test_the_corpus_is_large_and_documented():
    assert len(FILES) >= 30
    lines = (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines()
    rows = {cells[1].strip(): cells for cells in (line.split("|") for line in lines
                                                  if line.startswith("| ") and (".bpmn" in line or ".dmn" in line))}
    for path in FILES:
        assert path.name in rows, f"{path.name} has no source in SOURCES.md"
        repo, where, commit, licence = (c.strip() for c in rows[path.name][2:6])
        if path.name.startswith("tapsyrys-"):  # written for this project, after the named tool's exports
            assert repo == "this project" and where and licence == "the project's", f"{path.name}: {repo}, {licence}"
            continue
        assert repo.startswith("github.com/") and where and re.fullmatch(r"[0-9a-f]{40}", commit)
        assert licence.startswith(("CC BY", "CC0", "MIT", "Apache-2.0", "BSD")), f"{path.name}: {licence}"
    assert len({rows[p.name][2] for p in FILES}) >= 3, "files from several sources"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_imports_as_a_draft_through_the_page(world, browser, path):
    owner = browser("owner")
    data = path.read_bytes()
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(data), path.name), "lane_role": "starter"},
                          content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "/modeler/versions/" in response.headers["Location"], "imported as a draft, opened in the modeler"
    page = owner.get(response.headers["Location"])
    assert page.status_code == 200
    assert "&lt;Element" not in page.get_data(as_text=True), "no parser internals on the page"
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert decoded(data, path.name) in draft.files.values(), "stored exactly as the tool wrote it (ids, extensions)"
    assert draft.lane_role == "starter"
    problems = version_problems(draft)
    for problem in problems:
        text = str(problem)
        assert "<Element" not in text and " at 0x" not in text, text
        if problem.element_id:
            assert problem.line, f"{text} has no line"
    if path.name not in RUNNABLE:
        assert problems, f"{path.name} is not in RUNNABLE but has no problem: add it there"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_imports_from_the_shell(app, world, path):
    result = app.test_cli_runner().invoke(args=["import-model", str(path)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert re.search(r": draft v\d+, \d+ problem\(s\)", result.output)


def _make_executable(draft) -> None:
    files = {name: text.replace('isExecutable="false"', 'isExecutable="true"') if name.endswith(".bpmn") else text
             for name, text in draft.files.items()}
    save_draft(draft, files, user("owner"))


def run_to_the_end(model, owner, limit: int = 50, now=None) -> ProcessInstance:
    """Start a trial run and complete every user task it opens (empty forms) until it finishes. With ``now`` (a
    frozen clock), a run waiting for nothing but a timer is moved a day on and its due timers fired."""
    instance = start_trial(model, owner)
    db.session.commit()
    for _ in range(limit):
        if instance.status == "completed":
            break
        task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                          HumanTask.status == "open").order_by(HumanTask.id)).first()
        if task is None and now is not None and instance.next_timer_at is not None:
            now.advance(days=1)
            runtime.fire_due_timers()
            db.session.commit()
            db.session.refresh(instance)
            continue
        assert task is not None, f"the run waits for something else: {runtime.instance_status(instance)}"
        instance = runtime.complete_task(task.id, owner, data={})
        db.session.commit()
    return instance


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_supported_files_publish_and_run_to_the_end(world, name):
    owner = user("owner")
    draft, problems = import_zip((CORPUS / name).read_bytes(), owner, filename=name, lane_role="starter")
    _make_executable(draft)
    problems = set_lane_role(draft, "starter", owner)
    assert problems == [], [str(p) for p in problems]
    publish_draft(draft, owner)
    db.session.commit()
    with clock.FrozenClock(START) as now:
        instance = run_to_the_end(draft.process_model, owner, now=now)
    assert instance.status == "completed"


@pytest.mark.parametrize("name", sorted(REFUSED_FOR))
def test_written_foreign_files_are_refused_on_the_element_with_the_reason(app_ctx, name):
    from app.engine.specs import validate_files

    text = decoded((CORPUS / name).read_bytes(), name)
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    shown = [str(p) for p in problems]
    for element_id, words in REFUSED_FOR[name]:
        assert any(p.element_id == element_id and p.line and words in p.message for p in problems), (
            element_id, words, shown)


def test_a_zeebe_user_task_asks_the_form_the_owner_chose_and_runs_to_the_end(world):
    """Refused while its form is Zeebe's (formId 'invoice-form'); once the owner chooses one of the model's forms for
    the step (as the side panel writes it), it publishes and the step asks that form."""
    owner = user("owner")
    name = "camunda-modeler-zeebe-user-task-form.bpmn"
    draft, problems = import_zip((CORPUS / name).read_bytes(), owner, filename=name, lane_role="starter")
    assert [p.element_id for p in problems] == ["UserTask_1"], [str(p) for p in problems]
    files = dict(draft.files)
    files[name] = files[name].replace(
        'xmlns:zeebe=', 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:zeebe=').replace(
        "<zeebe:userTask />", '<zeebe:userTask /><spiffworkflow:properties><spiffworkflow:property '
        'name="formJsonSchemaFilename" value="invoice-form.schema.json" /></spiffworkflow:properties>')
    files["invoice-form.schema.json"] = ('{"type": "object", "properties": {"checked": {"type": "boolean", '
                                         '"title": "Invoice checked"}}}')
    assert save_draft(draft, files, owner) == []
    publish_draft(draft, owner)
    db.session.commit()
    instance = start_trial(draft.process_model, owner)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    assert runtime.task_form(task)[0]["properties"]["checked"]["title"] == "Invoice checked"
    assert runtime.complete_task(task.id, owner, data={"checked": True}).status == "completed"


def test_a_foreign_file_round_trips_byte_for_byte(world):
    """camunda:, signavio:... extensions and the tool's ids come back out of the export exactly."""
    for name in ("camunda-spring-boot-starter-example-twitter-TwitterDemoProcess.bpmn",
                 "miwg-sap-signavio-process-man-a.1.0-export.bpmn", "miwg-adonis-17-0-a.3.0-export.bpmn"):
        original = (CORPUS / name).read_text(encoding="utf-8-sig")
        draft, _problems = import_zip(original.encode(), user("owner"), filename=name)
        exported = export_zip(draft)
        draft2, _ = import_zip(exported, user("owner"))
        assert draft2.process_model_id == draft.process_model_id
        assert original in draft2.files.values()


def test_call_activity_resolves_across_files_of_a_zip(world):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("camunda-multi-tenancy-tenant-identifier-shared-definitions-mainProcess.bpmn",
                     "camunda-multi-tenancy-tenant-identifier-shared-definitions-subProcess.bpmn"):
            zf.writestr(f"tenants/{name}", (CORPUS / name).read_bytes())
    owner = user("owner")
    draft, problems = import_zip(buf.getvalue(), owner, filename="tenants.zip", lane_role="starter")
    assert len([n for n in draft.files if n.endswith(".bpmn")]) == 2, "every diagram of the zip is kept"
    assert draft.primary_file.endswith("mainProcess.bpmn"), "the diagram nobody calls is the primary one"
    assert not [p for p in problems if "not part of the model" in p.message]
    assert problems == [], [str(p) for p in problems]
    publish_draft(draft, owner)
    db.session.commit()
    assert run_to_the_end(draft.process_model, owner).status == "completed"


def test_camunda_decision_tables_are_refused_cell_by_cell_in_feel_terms(app_ctx):
    """Camunda's DMN 1.1 dish table (a FEEL range, a FEEL list) and the modeler's DMN 1.1 requirements graph
    (literal expressions, several decisions): each problem on its element and line, none from the parser."""
    from app.engine.specs import validate_files
    from tests.engine.test_foreign_model_problems import diagram, flows

    def calling(decision: str) -> str:
        return diagram('<bpmn:startEvent id="s" />\n<bpmn:businessRuleTask id="rt"><bpmn:extensionElements>'
                       f'<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>'
                       '</bpmn:extensionElements></bpmn:businessRuleTask>\n<bpmn:endEvent id="e" />\n'
                       + flows("s", "rt", "e"))

    dish = (CORPUS / "camunda-dmn-engine-java-main-method-dish-decision.dmn").read_text(encoding="utf-8")
    _parsed, problems = validate_files({"m.bpmn": calling("decision"), "dish.dmn": dish})
    shown = [str(p) for p in problems]
    assert any("FEEL range" in p.message and p.element_id == "row-950612891-4" and p.line for p in problems), shown
    assert any("separated by commas" in p.message and p.element_id == "row-950612891-5" for p in problems), shown
    graph = (CORPUS / "camunda-modeler-dmn11-drg-diagram11.dmn").read_text(encoding="utf-8")
    _parsed, problems = validate_files({"m.bpmn": calling("Decision_1kizwj6"), "graph.dmn": graph})
    shown = [str(p) for p in problems]
    assert any("not a decision table" in p.message and p.element_id == "Decision_17gs2k3" and p.line
               for p in problems), shown
    assert not any("Traceback" in s or "<Element" in s for s in shown), shown
