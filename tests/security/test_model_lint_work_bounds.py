"""The model check reads a diagram in time linear in its size. Each exclusive or inclusive gateway read its whole
process level again to find the flows leaving it: a 2 MB diagram of 20,000 gateways in a row, imported by a process
owner, held a web worker for 7 minutes (438 s measured on the development server; 2 s now). Each step the engine
parsed was then looked up for its line by searching every file again: 8,000 parallel branches took 39 s."""

from __future__ import annotations

from lxml import etree

from app.engine import model_lint

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _gateways_in_a_row(count: int) -> str:
    steps = "".join(f'<bpmn:exclusiveGateway id="g{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="g{i}" '
                    f'targetRef="g{i + 1}"/>' for i in range(count))
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t"><bpmn:process id="p" '
            f'isExecutable="true">{steps}<bpmn:endEvent id="g{count}"/></bpmn:process></bpmn:definitions>')


def test_the_gateway_check_reads_each_flow_once(monkeypatch):
    calls = 0
    local = model_lint.local

    def counting(tag):
        nonlocal calls
        calls += 1
        return local(tag)

    monkeypatch.setattr(model_lint, "local", counting)
    model_lint._gateway_problems("big.bpmn", etree.fromstring(_gateways_in_a_row(2_000)))
    assert calls < 20_000, f"{calls} element reads for 2,000 gateways"


def test_a_gateway_at_any_level_still_needs_conditions_on_its_ways_out():
    root = etree.fromstring(f"""<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true">
        <bpmn:exclusiveGateway id="top" default="top_default"/>
        <bpmn:sequenceFlow id="top_default" sourceRef="top" targetRef="a"/>
        <bpmn:sequenceFlow id="top_bare" sourceRef="top" targetRef="b"/>
        <bpmn:subProcess id="sub">
          <bpmn:inclusiveGateway id="inner"/>
          <bpmn:sequenceFlow id="inner_bare" sourceRef="inner" targetRef="x"/>
          <bpmn:sequenceFlow id="inner_set" sourceRef="inner" targetRef="y">
            <bpmn:conditionExpression>amount &gt; 0</bpmn:conditionExpression>
          </bpmn:sequenceFlow>
          <bpmn:exclusiveGateway id="single"/>
          <bpmn:sequenceFlow id="single_way" sourceRef="single" targetRef="x"/>
        </bpmn:subProcess>
        <bpmn:sequenceFlow id="same_name_other_level" sourceRef="inner" targetRef="a"/>
      </bpmn:process></bpmn:definitions>""")
    flagged = [p.element_id for p in model_lint._gateway_problems("m.bpmn", root)]
    assert flagged == ["top_bare", "inner_bare"]


def _branches(count: int) -> dict[str, str]:
    branches = "".join(f'<bpmn:sequenceFlow id="o{i}" sourceRef="split" targetRef="t{i}"/><bpmn:task id="t{i}"/>'
                       f'<bpmn:sequenceFlow id="i{i}" sourceRef="t{i}" targetRef="join"/>' for i in range(count))
    return {"branches.bpmn": (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t"><bpmn:process id="branches" '
        f'isExecutable="true"><bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f" sourceRef="start" '
        f'targetRef="split"/><bpmn:parallelGateway id="split"/>{branches}<bpmn:parallelGateway id="join"/>'
        f'<bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/></bpmn:process>'
        f'</bpmn:definitions>')}


def test_each_step_of_a_parsed_diagram_is_found_by_its_id_without_searching_the_file(world, monkeypatch):
    # A search of the whole file per step: 8,000 branches (1.2 MB) took 39 s to check; 1.3 s now.
    from app.engine import specs

    searches = 0
    find_element = specs.find_element

    def counting(*args, **kwargs):
        nonlocal searches
        searches += 1
        return find_element(*args, **kwargs)

    monkeypatch.setattr(specs, "find_element", counting)
    parsed, problems = specs.validate_files(_branches(500))
    assert parsed is not None, problems
    assert searches < 10, f"{searches} searches of the file for 500 branches"
    assert not [p for p in problems if p.element_id and p.element_id.startswith("t") and p.line is None]


def _counting_element_reads(monkeypatch):
    """From now on every element the publish check reads (its tag) is counted: the count so far, as a function."""
    from app.engine import specs

    reads = 0
    local = specs._local

    def counting(tag):
        nonlocal reads
        reads += 1
        return local(tag)

    monkeypatch.setattr(specs, "_local", counting)
    return lambda: reads


def test_a_gateway_of_many_ways_out_finds_each_conditions_flow_in_one_pass(world, monkeypatch):
    # Each condition's flow was looked for among all the level's elements again: 4 s for 2,000 ways out.
    from app.engine import specs

    ways = "".join(f'<bpmn:sequenceFlow id="o{i}" sourceRef="choice" targetRef="e{i}"><bpmn:conditionExpression>'
                   f'x == {i}</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e{i}"/>'
                   for i in range(1_000))
    files = {"ways.bpmn": (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t"><bpmn:process id="ways" '
        f'isExecutable="true"><bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f" sourceRef="start" '
        f'targetRef="choice"/><bpmn:exclusiveGateway id="choice" default="o0"/>{ways}</bpmn:process>'
        f'</bpmn:definitions>').replace("x == 7<", "x ==<")}
    reads = _counting_element_reads(monkeypatch)
    _parsed, problems = specs.validate_files(files)
    assert reads() < 100_000, f"{reads()} element reads for a gateway of 1,000 ways out"
    assert [p.element_id for p in problems if p.element_id == "o7"] == ["o7"], "the broken condition, on its flow"


def test_many_gateways_read_their_levels_flows_once(world, monkeypatch):
    # Each gateway's conditions looked for their flows among all the level's elements again: 5 s for a model of
    # 800 gateways among 3,600 elements (40 parallel branches of 10 choices each).
    from app.engine import specs

    elements, flows = [], [("f_s", "start", "fork"), ("f_e", "meet", "end")]
    for b in range(30):
        previous = "fork"
        for i in range(4):
            choice, one, other, merge = f"g{b}_{i}", f"a{b}_{i}", f"c{b}_{i}", f"j{b}_{i}"
            elements.append(f'<bpmn:exclusiveGateway id="{choice}" default="fa{choice}"/>'
                            f'<bpmn:exclusiveGateway id="{merge}"/><bpmn:manualTask id="{one}"/>'
                            f'<bpmn:manualTask id="{other}"/>')
            flows += [(f"fi{choice}", previous, choice), (f"fa{choice}", choice, one), (f"fb{choice}", choice, other),
                      (f"fc{choice}", one, merge), (f"fd{choice}", other, merge)]
            previous = merge
        flows.append((f"fo{b}", previous, "meet"))
    written = "".join(
        f'<bpmn:sequenceFlow id="{f}" sourceRef="{s}" targetRef="{t}">'
        + ('<bpmn:conditionExpression>x == 1</bpmn:conditionExpression>' if f.startswith("fb") else "")
        + "</bpmn:sequenceFlow>" for f, s, t in flows)
    files = {"branches.bpmn": (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t"><bpmn:process id="branches" '
        f'isExecutable="true"><bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>'
        f'<bpmn:parallelGateway id="meet"/><bpmn:endEvent id="end"/>{"".join(elements)}{written}</bpmn:process>'
        f'</bpmn:definitions>').replace('id="fbg29_3" sourceRef="g29_3" targetRef="c29_3"><bpmn:conditionExpression>'
                                        'x == 1<', 'id="fbg29_3" sourceRef="g29_3" targetRef="c29_3">'
                                        '<bpmn:conditionExpression>x ==<')}
    reads = _counting_element_reads(monkeypatch)
    _parsed, problems = specs.validate_files(files)
    assert reads() < 60_000, f"{reads()} element reads for 240 gateways among 1,000 elements"
    assert [p.element_id for p in problems if p.element_id == "fbg29_3"] == ["fbg29_3"], "the broken condition"
