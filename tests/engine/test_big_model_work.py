"""Issue 16 §2: the publish checks of a big model do work in proportion to its size, not to its size squared.

Counted, not timed (the machine is shared): the element reads of a check for a model and for one four times as large.
A chain of 2,500 exclusive split/merge pairs spent 70 s in the no-default-flow notice alone, which read every flow of
the process again for each gateway.
"""

from __future__ import annotations

from lxml import etree

from app.engine import model_lint
from tests.engine.test_foreign_model_problems import diagram


def diamonds(count: int) -> str:
    """``count`` exclusive splits in a row, each with a conditioned way, a default way and a merge."""
    body, previous = ['<bpmn:startEvent id="s" />'], "s"
    for i in range(count):
        body += [f'<bpmn:exclusiveGateway id="split{i}" default="d{i}" />', f'<bpmn:exclusiveGateway id="merge{i}" />',
                 f'<bpmn:userTask id="a{i}" />', f'<bpmn:userTask id="b{i}" />',
                 f'<bpmn:sequenceFlow id="in{i}" sourceRef="{previous}" targetRef="split{i}" />',
                 f'<bpmn:sequenceFlow id="c{i}" sourceRef="split{i}" targetRef="a{i}"><bpmn:conditionExpression>'
                 f'amount &gt; {i}</bpmn:conditionExpression></bpmn:sequenceFlow>',
                 f'<bpmn:sequenceFlow id="d{i}" sourceRef="split{i}" targetRef="b{i}" />',
                 f'<bpmn:sequenceFlow id="ma{i}" sourceRef="a{i}" targetRef="merge{i}" />',
                 f'<bpmn:sequenceFlow id="mb{i}" sourceRef="b{i}" targetRef="merge{i}" />']
        previous = f"merge{i}"
    body += ['<bpmn:endEvent id="e" />', f'<bpmn:sequenceFlow id="out" sourceRef="{previous}" targetRef="e" />']
    return diagram("\n".join(body))


def _reads(monkeypatch, check, count: int) -> int:
    calls = 0
    read = model_lint.local

    def counted(tag):
        nonlocal calls
        calls += 1
        return read(tag)

    monkeypatch.setattr(model_lint, "local", counted)
    tree = {"m.bpmn": etree.fromstring(diamonds(count).encode())}
    check(tree)
    monkeypatch.setattr(model_lint, "local", read)
    return calls


def test_the_no_default_flow_notice_reads_each_flow_once_not_once_per_gateway(app_ctx, monkeypatch):
    small = _reads(monkeypatch, model_lint.no_default_notices, 100)
    large = _reads(monkeypatch, model_lint.no_default_notices, 400)
    assert large <= 5 * max(small, 1), (small, large)
    notices = model_lint.no_default_notices({"m.bpmn": etree.fromstring(diamonds(3).encode())})
    assert notices == [], "every split has a default flow, every merge one way out"


def test_saving_a_model_parses_each_script_and_condition_once(app_ctx, monkeypatch):
    """Issue: one script of 100 kB took ≈ 8 s to check, as the checks (sandbox compile, names nobody sets, data
    objects, SpiffArena helpers) parsed it about eight times. Counted, not timed: each distinct source once."""
    import ast
    from collections import Counter

    from app.engine import scripting
    from app.engine.specs import model_notices, validate_files
    from tests.engine.test_foreign_model_problems import flows

    script = "\n".join(f"total_{i} = amount + {i}" for i in range(200)) + "\nchecked = done_marker(total_1)"
    condition = "total_199 > 100"
    xml = diagram(
        '<bpmn:startEvent id="s" />\n'
        f'<bpmn:scriptTask id="T" name="Sum"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>\n'
        '<bpmn:exclusiveGateway id="g" default="f_g_e" />\n<bpmn:endEvent id="e" />\n<bpmn:endEvent id="e2" />\n'
        + flows("s", "T", "g", "e")
        + f'<bpmn:sequenceFlow id="big" sourceRef="g" targetRef="e2"><bpmn:conditionExpression>{condition}'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>')
    parses: Counter = Counter()
    parse = ast.parse

    def counted(source, *args, **kwargs):
        if isinstance(source, str):
            parses[source.strip()] += 1
        return parse(source, *args, **kwargs)

    scripting._compile.cache_clear()  # a model saved for the first time in this process
    monkeypatch.setattr(ast, "parse", counted)
    _parsed, problems = validate_files({"m.bpmn": xml})
    notices = model_notices({"m.bpmn": xml})
    monkeypatch.setattr(ast, "parse", parse)
    assert "amount" in str(notices) and "done_marker" in str(notices), "the names checks still read the script"
    assert not [p for p in problems if p.element_id == "big"], [str(p) for p in problems]
    assert parses[script] == 1 and parses[condition] == 1, (parses[script], parses[condition])


def test_the_notices_of_a_model_over_the_script_limit_read_none_of_its_scripts(app_ctx, monkeypatch):
    """Saving refused such a model at once (its scripts together past the limit), and then its notices read every
    script: 11 s for 800 kB of scripts, held by a web worker for a model nobody can publish."""
    import ast

    from app.engine.scripting import MAX_MODEL_SCRIPT_CHARACTERS
    from app.engine.specs import model_notices, validate_files
    from tests.engine.test_foreign_model_problems import flows

    script = "x = 1\n" * (MAX_MODEL_SCRIPT_CHARACTERS // 12 + 1)
    xml = diagram('<bpmn:startEvent id="s" />\n' + "".join(
        f'<bpmn:scriptTask id="t{i}"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>\n' for i in range(3))
        + '<bpmn:endEvent id="e" />\n' + flows("s", "t0", "t1", "t2", "e"))
    parses = []
    parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda source, *a, **k: parses.append(source) or parse(source, *a, **k))
    _parsed, problems = validate_files({"m.bpmn": xml})
    notices = model_notices({"m.bpmn": xml})
    monkeypatch.setattr(ast, "parse", parse)
    assert not [source for source in parses if len(source) > 1000], "no script was read"
    assert [p.filename for p in problems] == ["(model)"] and notices == []
