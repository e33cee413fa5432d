"""Multi-instance steps: each instance's input (and output) data item stays its own.

SpiffWorkflow 3.2 merges a finished instance's whole data back into the step when the step collects no output
(``MultiInstanceTask.merge_child``) — the input data item included. A sequential multi-instance step then refused to
start its second instance: "Multiinstance input item item already exists" (the item the first one left behind), so
every sequential multi-instance step over a collection, or with an input data item, failed at its second round. In
BPMN the input and output data items belong to one instance; the other data of an instance is merged as before.
Installed once, at engine import, as the decision tables' rules are.

A multi-instance step opens at most :data:`MAX_INSTANCES` instances. SpiffWorkflow builds a task (with a copy of the
step's data) for every instance of a parallel step at once: a number of instances of 10**9 (a typo, or a count taken
from the data) made the worker grow past 11 GB and never answer. The step now fails before anything is built, with
words the incident shows; a number written in the diagram is refused when the model is saved
(``app.engine.model_lint``).
"""

from __future__ import annotations

from collections.abc import Sized

from flask_babel import gettext as _
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)

#: the most instances one multi-instance step opens (a parallel step builds them all at once)
MAX_INSTANCES = 1000

_library_merge_child = MultiInstanceTask.merge_child
_library_create_children = ParallelMultiInstanceTask.create_children
_library_sequential_update = SequentialMultiInstanceTask._update_hook


def _merge_child(self, workflow, child):
    if self.data_output is not None and self.output_item is not None:
        return _library_merge_child(self, workflow, child)  # only the output item is collected
    own = [item.bpmn_id for item in (self.input_item, self.output_item) if item is not None]
    kept = {name: child.data.pop(name) for name in own if name in child.data}
    try:
        return _library_merge_child(self, workflow, child)
    finally:
        child.data.update(kept)


def too_many_instances(count: int) -> str:
    return _("this step would open %(n)s instances; a multi-instance step opens at most %(max)s. Check its number of "
             "instances (loop cardinality) or its collection", n=count, max=MAX_INSTANCES)


def not_a_count(value) -> str:
    return _("its number of instances (loop cardinality) is %(value)s, not a whole number", value=repr(value)[:80])


def _check_count(self, my_task) -> None:
    """Refuse the step, before any instance is built, when its number of instances is not a whole number or is past
    the limit (a collection is counted for a parallel step only: a sequential one opens an instance at a time)."""
    if self.data_input is not None:
        if not isinstance(self, ParallelMultiInstanceTask) or not self.data_input.exists(my_task):
            return  # the library says what is missing
        items = self.data_input.get(my_task)
        count = len(items) if isinstance(items, Sized) else None
    else:
        count = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
        if isinstance(count, bool) or not isinstance(count, int):
            raise WorkflowTaskException(not_a_count(count), task=my_task)
    if count is not None and count > MAX_INSTANCES:
        raise WorkflowTaskException(too_many_instances(count), task=my_task)


def _create_children(self, my_task):
    _check_count(self, my_task)
    return _library_create_children(self, my_task)


def _sequential_update(self, my_task):
    if self.data_input is None:  # the count is read from the step's data, inherited first as the library does
        my_task._inherit_data()
        _check_count(self, my_task)
    return _library_sequential_update(self, my_task)


def install_instance_items() -> None:
    MultiInstanceTask.merge_child = _merge_child
    ParallelMultiInstanceTask.create_children = _create_children
    SequentialMultiInstanceTask._update_hook = _sequential_update
