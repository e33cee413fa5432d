"""The join check (app.engine.gateway_matching) on very big models: it finishes where it used to give up silently, and
where it still cannot, the process owner is told which joins nobody checked — on the model's page and at publishing.

Counted, not timed (the machine is shared): the units of work the check spends, against its budget of 1,000,000 per
level and check. 5,000 parallel gateways in a row and 100 branches of 100 steps each ran out of it, and the check then
said nothing at all: a merge drawn wrong at the end of such a model was published.
"""

from __future__ import annotations

import io
import json
import re

from lxml import etree

from app.engine import gateway_matching, specs
from app.engine.gateway_matching import check_joins
from app.engine.models import ProcessModelVersion
from app.extensions import db
from tests.engine.test_foreign_model_problems import diagram


def _model(nodes: list[str], flows: list[tuple[str, str]]) -> str:
    return diagram("\n".join(nodes + [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
                                      for i, (a, b) in enumerate(flows)]))


def parallel_pairs(pairs: int, last_merge: str = "parallelGateway") -> str:
    """``pairs`` parallel splits in a row, each joined again after two steps (2 gateways a pair); the last join is a
    ``last_merge``, followed by a step."""
    nodes, flows, previous = ['<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />',
                              '<bpmn:userTask id="after" />'], [], "s"
    for i in range(pairs):
        join = last_merge if i == pairs - 1 else "parallelGateway"
        nodes += [f'<bpmn:parallelGateway id="fork{i}" />', f'<bpmn:{join} id="join{i}" name="Join {i}" />',
                  f'<bpmn:userTask id="a{i}" />', f'<bpmn:userTask id="b{i}" />']
        flows += [(previous, f"fork{i}"), (f"fork{i}", f"a{i}"), (f"fork{i}", f"b{i}"), (f"a{i}", f"join{i}"),
                  (f"b{i}", f"join{i}")]
        previous = f"join{i}"
    return _model(nodes, flows + [(previous, "after"), ("after", "e")])


def branches(count: int, length: int, merge: str = "parallelGateway") -> str:
    """A parallel split into ``count`` branches of ``length`` steps, met again by a ``merge``, then a step."""
    nodes = ['<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />', '<bpmn:parallelGateway id="fork" />',
             f'<bpmn:{merge} id="join" name="All branches done" />', '<bpmn:userTask id="after" />']
    flows = [("s", "fork"), ("join", "after"), ("after", "e")]
    for b in range(count):
        previous = "fork"
        for t in range(length):
            nodes.append(f'<bpmn:userTask id="t{b}_{t}" />')
            flows.append((previous, f"t{b}_{t}"))
            previous = f"t{b}_{t}"
        flows.append((previous, "join"))
    return _model(nodes, flows)


def choices_in_a_branch(count: int) -> str:
    """``count`` exclusive splits and merges in a row in one branch of a parallel split; the other branch one step."""
    nodes = ['<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />', '<bpmn:parallelGateway id="fork" />',
             '<bpmn:parallelGateway id="join" />', '<bpmn:userTask id="other" />']
    flows = [("s", "fork"), ("fork", "other"), ("other", "join"), ("join", "e")]
    previous = "fork"
    for i in range(count):
        nodes += [f'<bpmn:exclusiveGateway id="x{i}" />', f'<bpmn:exclusiveGateway id="m{i}" />',
                  f'<bpmn:userTask id="a{i}" />', f'<bpmn:userTask id="b{i}" />']
        flows += [(previous, f"x{i}"), (f"x{i}", f"a{i}"), (f"x{i}", f"b{i}"), (f"a{i}", f"m{i}"), (f"b{i}", f"m{i}")]
        previous = f"m{i}"
    return _model(nodes, flows + [(previous, "join")])


def _work(monkeypatch, xml: str):
    """The check of one model: what it says, the units it spent in all, and the most one check of a level spent."""
    spent = {"total": 0, "most": 0}
    spend = gateway_matching._Level.spend

    def counted(self, amount: int = 1) -> None:
        spent["total"] += amount
        spend(self, amount)
        spent["most"] = max(spent["most"], gateway_matching._BUDGET - self.budget)

    monkeypatch.setattr(gateway_matching._Level, "spend", counted)
    check = check_joins({"m.bpmn": etree.fromstring(xml.encode())})
    monkeypatch.setattr(gateway_matching._Level, "spend", spend)
    return check, spent["total"], spent["most"]


def test_5000_parallel_gateways_in_a_row_are_checked_to_the_end(app_ctx, monkeypatch):
    """The places of the net were numbered over every flow and node, and each bit set operation cost their width:
    2,500 split/join pairs ran out of the budget, and an exclusive merge drawn last was published."""
    check, total, most = _work(monkeypatch, parallel_pairs(2500, last_merge="exclusiveGateway"))
    assert most < gateway_matching._BUDGET // 10, most
    assert check.unfinished == []
    assert [p.element_id for p in check.problems] == ["join2499"], [str(p) for p in check.problems]


def test_100_branches_of_100_steps_are_checked_to_the_end(app_ctx, monkeypatch):
    check, total, most = _work(monkeypatch, branches(100, 100, merge="exclusiveGateway"))
    assert most < gateway_matching._BUDGET // 10, most
    assert check.unfinished == []
    assert [p.element_id for p in check.problems] == ["join"], [str(p) for p in check.problems]


def test_the_choices_are_read_in_one_pass_not_one_walk_of_the_level_each(app_ctx, monkeypatch):
    """Four times the choices, about four times the work (each choice walked the whole level: 400 choices in a branch
    ran out of the budget)."""
    _check, small, _most = _work(monkeypatch, choices_in_a_branch(100))
    check, large, _most = _work(monkeypatch, choices_in_a_branch(400))
    assert large <= 5 * small, (small, large)
    assert check.problems == [] and check.unfinished == []


def _too_large(check) -> list[str]:
    return [str(n) for n in check.unfinished]


def test_a_model_just_under_the_budget_is_checked_and_one_just_over_names_the_joins_left(app_ctx, monkeypatch):
    """The same model with the budget set at what its check needs, and one unit less."""
    xml = branches(30, 3)
    full, _total, most = _work(monkeypatch, xml)
    assert full.problems == [] and full.unfinished == []

    monkeypatch.setattr(gateway_matching, "_BUDGET", most)
    under, _total, _most = _work(monkeypatch, xml)
    assert under.problems == [] and _too_large(under) == []

    monkeypatch.setattr(gateway_matching, "_BUDGET", most - 1)
    over, _total, _most = _work(monkeypatch, xml)
    said = over.unfinished
    assert len(said) == 1, _too_large(over)
    assert said[0].element_id == "p" and said[0].line == 3, "on the process, with its line"
    assert "too large for the join check to finish" in said[0].message
    assert "'All branches done'" in said[0].message, "the join nobody checked, by its name"
    assert said[0] in over.notices


def test_the_notice_names_twenty_joins_and_counts_the_rest(app_ctx, monkeypatch):
    monkeypatch.setattr(gateway_matching, "_BUDGET", 10)
    check, _total, _most = _work(monkeypatch, parallel_pairs(30))
    (said,) = check.unfinished
    assert "'Join 19'" in said.message and "'Join 20'" not in said.message
    assert "and 10 more" in said.message


def test_the_owner_sees_the_notice_on_the_model_page_and_may_publish_with_it(world, browser, monkeypatch):
    """Publishing is allowed: what the check found within its budget is refused as ever, and nothing is refused on a
    guess. The owner reads which joins were not checked before publishing, and again when it is published."""
    monkeypatch.setattr(gateway_matching, "_BUDGET", 10)
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(parallel_pairs(30).encode()), "big.bpmn"),
                                              "lane_role": "starter"}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    config = json.loads(re.search(r'id="modeler-config">(.*?)</script>', page, re.S).group(1))
    assert config["problems"] == [], config["problems"]
    said = [n for n in config["notices"] if "too large for the join check" in n["message"]]
    assert len(said) == 1 and said[0]["element_id"] == "p" and said[0]["line"], config["notices"]
    draft = db.session.query(ProcessModelVersion).filter_by(status="draft").one()
    published = owner.post(f"/modeler/versions/{draft.id}/publish")
    assert published.status_code == 302
    assert db.session.get(ProcessModelVersion, draft.id).status == "published"
    shown = owner.get(published.headers["Location"]).get_data(as_text=True)
    assert "too large for the join check to finish" in shown and "&#39;Join 0&#39;" in shown


def test_the_notices_of_a_model_parse_its_files_once(app_ctx, monkeypatch):
    """Each of the eight notices parsed the files again (0.35 s a parse for a diagram of 0.8 MB)."""
    parses = 0
    parse = specs.parse_model_xml

    def counted(data, name):
        nonlocal parses
        parses += 1
        return parse(data, name)

    monkeypatch.setattr(specs, "parse_model_xml", counted)
    notices = specs.model_notices({"m.bpmn": choices_in_a_branch(3)})
    assert parses == 1, parses
    assert any("has no layout" in n.message for n in notices), "the notices are still said"
