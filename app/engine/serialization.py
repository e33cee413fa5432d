"""Workflow state ⇄ JSON, without the spec.

The spec is parsed once per model version and cached (see :mod:`app.engine.specs`); each instance row
stores only its tasks and data. This is the library's own converter, minus the spec conversion that
would otherwise be repeated on every save (DESIGN.md: store the spec once per model version).
"""

from __future__ import annotations

import json
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_registry.register(Decimal, lambda v: {"value": str(v)}, lambda dct: Decimal(dct["value"]), "Decimal")
_library_restore = _registry.restore


def _restore_known_types_only(value, **kwargs):
    """The library's restore, except that a dict naming a type the storage does not know stays a dict (its values
    restored) instead of calling nothing: one such value in an instance's data made every page of it a 500. Task
    data cannot hold the reserved key any more (app.engine.scripting.RESERVED_KEY); older states still load."""
    if isinstance(value, dict) and "typename" in value and value["typename"] not in _registry.convert_from_dict:
        return {k: _restore_known_types_only(v, **kwargs) for k, v in value.items()}
    return _library_restore(value, **kwargs)


_registry.restore = _restore_known_types_only
_serializer = BpmnWorkflowSerializer(_registry)
_converter = BpmnWorkflowConverter(BpmnWorkflow, _registry)


def dump_state(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = WorkflowConverter.to_dict(_converter, workflow)
        dct["subprocesses"] = _converter.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = _registry.convert(workflow.bpmn_events)
        dct[BpmnWorkflowSerializer.VERSION_KEY] = VERSION
        return json.dumps(dct, cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        _registry._encoder_mode = False


def load_state(state: str, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:
    dct = json.loads(state, cls=_serializer.json_decoder_cls)
    _serializer.migrate(dct)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
    workflow.tasks = _converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _converter.set_default_attributes(workflow, dct)
    _converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = _registry.restore(dct.pop("bpmn_events", []))
    workflow.script_engine = script_engine
    return workflow
