"""Small test-only process models, built step by step like a process owner would draw them."""

from __future__ import annotations

import json

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
      'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

FORM = json.dumps({"type": "object", "required": ["comment"],
                   "properties": {"comment": {"type": "string", "title": "Comment", "maxLength": 200}}})
FORM_UI = json.dumps({"comment": {"ui:widget": "textarea"}})


def user_task(task_id: str, name: str, form: str | None = "fill.schema.json", ui: str | None = "fill.uischema.json",
              extra: str = "") -> str:
    props = ""
    if form:
        props += f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />'
    if ui:
        props += f'<spiffworkflow:property name="formUiSchemaFilename" value="{ui}" />'
    return (f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
            f'{props}</spiffworkflow:properties></bpmn:extensionElements>{extra}</bpmn:userTask>')


def chain_model(pid: str, steps: list[tuple[str, str, str]], *, extra_nodes: str = "", extra_flows: str = "",
                end: bool = True, lanes: bool = True) -> dict[str, str]:
    """start → steps (id, lane, xml) → end, with lanes, flows and diagram shapes; plus the fill form."""
    ids = ["start", *[s[0] for s in steps], *(["end"] if end else [])]
    flows = "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                    for a, b in zip(ids, ids[1:], strict=False))
    lane_names: dict[str, list[str]] = {}
    for step_id, lane, _xml in steps:
        lane_names.setdefault(lane, []).append(step_id)
    first_lane = steps[0][1] if steps else "School accountant"
    lane_names.setdefault(first_lane, []).insert(0, "start")
    if end:
        lane_names.setdefault(steps[-1][1] if steps else first_lane, []).append("end")
    lane_xml = "".join(
        f'<bpmn:lane id="lane_{i}" name="{name}">' + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
        + "</bpmn:lane>" for i, (name, nodes) in enumerate(lane_names.items()))
    lane_index = {n: i for i, nodes in enumerate(lane_names.values()) for n in nodes}
    nodes = ('<bpmn:startEvent id="start" />' + "".join(s[2] for s in steps)
             + ('<bpmn:endEvent id="end" />' if end else "") + extra_nodes)
    shapes = ""
    for i, node in enumerate(ids):
        y = 60 + lane_index.get(node, 0) * 150 + 35
        size = (36, 36) if node in ("start", "end") else (100, 80)
        shapes += (f'<bpmndi:BPMNShape id="{node}_di" bpmnElement="{node}"><dc:Bounds x="{200 + i * 160}" '
                   f'y="{y}" width="{size[0]}" height="{size[1]}" /></bpmndi:BPMNShape>')
    width = 200 + len(ids) * 160
    lane_shapes = "".join(
        f'<bpmndi:BPMNShape id="lane_{i}_di" bpmnElement="lane_{i}" isHorizontal="true"><dc:Bounds x="130" '
        f'y="{60 + i * 150}" width="{width}" height="150" /></bpmndi:BPMNShape>' for i in range(len(lane_names)))
    edges = "".join(
        f'<bpmndi:BPMNEdge id="f_{a}_{b}_di" bpmnElement="f_{a}_{b}"><di:waypoint x="{200 + i * 160 + 50}" '
        f'y="{60 + lane_index.get(a, 0) * 150 + 75}" /><di:waypoint x="{200 + (i + 1) * 160}" '
        f'y="{60 + lane_index.get(b, 0) * 150 + 75}" /></bpmndi:BPMNEdge>'
        for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    collab = (f'<bpmn:collaboration id="collab_{pid}"><bpmn:participant id="pool_{pid}" name="{pid}" '
              f'processRef="{pid}" /></bpmn:collaboration>') if lanes else ""
    pool = (f'<bpmndi:BPMNShape id="pool_{pid}_di" bpmnElement="pool_{pid}" isHorizontal="true"><dc:Bounds x="100" '
            f'y="60" width="{width + 30}" height="{150 * len(lane_names)}" /></bpmndi:BPMNShape>') if lanes else ""
    lane_set = f'<bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>' if lanes else ""
    bpmn = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs_{pid}" targetNamespace="t">'
            f'{collab}<bpmn:process id="{pid}" name="Test {pid}" isExecutable="true">'
            f'{lane_set}'
            f'{nodes}{flows}{extra_flows}</bpmn:process>'
            f'<bpmndi:BPMNDiagram id="dia_{pid}"><bpmndi:BPMNPlane id="plane_{pid}" '
            f'bpmnElement="{"collab_" + pid if lanes else pid}">{pool}{lane_shapes}{shapes}{edges}'
            f'</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>')
    return {f"{pid}.bpmn": bpmn, "fill.schema.json": FORM, "fill.uischema.json": FORM_UI}


def two_step(pid: str = "trial") -> dict[str, str]:
    return chain_model(pid, [("fill", "School accountant", user_task("fill", "Fill in")),
                             ("review", "Department official", user_task("review", "Review"))])


#: a one-rule decision table (level → monthly norm) and the business-rule task that calls it
NORM_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms"
             namespace="http://tapsyrys.kz/dmn">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="UNIQUE">
      <input id="in_level" label="Level">
        <inputExpression id="ie_level" typeRef="string"><text>level</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      <rule id="r1">
        <inputEntry id="r1_in"><text>"primary"</text></inputEntry>
        <outputEntry id="r1_out"><text>100</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

NORM_RULE_TASK = ('<bpmn:businessRuleTask id="decide" name="Find the norm"><bpmn:extensionElements>'
             '<spiffworkflow:calledDecisionId>norm</spiffworkflow:calledDecisionId></bpmn:extensionElements>'
             '</bpmn:businessRuleTask>')
