"""Multi-instance steps: each instance's input (and output) data item stays its own.

SpiffWorkflow 3.2 merges a finished instance's whole data back into the step when the step collects no output
(``MultiInstanceTask.merge_child``) — the input data item included. A sequential multi-instance step then refused to
start its second instance: "Multiinstance input item item already exists" (the item the first one left behind), so
every sequential multi-instance step over a collection, or with an input data item, failed at its second round. In
BPMN the input and output data items belong to one instance; the other data of an instance is merged as before.
Installed once, at engine import, as the decision tables' rules are.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

_library_merge_child = MultiInstanceTask.merge_child


def _merge_child(self, workflow, child):
    if self.data_output is not None and self.output_item is not None:
        return _library_merge_child(self, workflow, child)  # only the output item is collected
    own = [item.bpmn_id for item in (self.input_item, self.output_item) if item is not None]
    kept = {name: child.data.pop(name) for name in own if name in child.data}
    try:
        return _library_merge_child(self, workflow, child)
    finally:
        child.data.update(kept)


def install_instance_items() -> None:
    MultiInstanceTask.merge_child = _merge_child
