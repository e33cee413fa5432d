"""An event subprocess can start only while its process (or the subprocess it is drawn in) runs.

SpiffWorkflow 3.2 starts an event subprocess with a timer start event together with its process, and the process's
end waited for every unfinished task — the timer too. A non-interrupting "remind after five days" kept an instance
whose work was done "running" until the timer was due, then opened the reminder's steps for finished work; with a
cycle ("R/P5D") the instance never ended. In BPMN the end of a process ends the waits of its event subprocesses that
have not started: the end no longer waits for them and cancels them. An event subprocess that has started (its
timer came) still keeps its process until its own steps are done. Installed once, at engine import.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, _EndJoin
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskIterator, TaskState

#: a step of the event subprocess that is open, running or waiting (FUTURE steps are only predicted)
_UNDER_WAY = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


def _waiting_for_its_trigger(task) -> bool:
    """An event subprocess waiting for its trigger, with none of its steps under way. (The parser gives it the
    class of any subprocess; an event subprocess is the one its process's start task opens directly, where the
    flow opens the process's start events.)"""
    if (not isinstance(task.task_spec, SubWorkflowTask) or task.parent is None
            or not isinstance(task.parent.task_spec, BpmnStartTask) or task.has_state(TaskState.FINISHED_MASK)):
        return False
    subworkflow = task.workflow.top_workflow.get_subprocess(task)
    if subworkflow is None:
        return False
    starts = [t for t in subworkflow.tasks.values() if isinstance(t.task_spec, StartEvent)]
    if not starts or not all(t.state == TaskState.WAITING
                             and not isinstance(t.task_spec.event_definition, NoneEventDefinition) for t in starts):
        return False
    # a trigger that came (a cycle's earlier round) opened steps: the process waits until they are done
    return not any(t.has_state(_UNDER_WAY) for t in subworkflow.tasks.values()
                   if not isinstance(t.task_spec, StartEvent | _EndJoin))


def _check_threshold_unstructured(self, my_task) -> bool:
    idle = []
    for task in TaskIterator(my_task.workflow.task_tree, state=TaskState.NOT_FINISHED_MASK, end_at_spec=self.name):
        if task == my_task:
            continue
        if _waiting_for_its_trigger(task):
            idle.append(task)
            continue
        if any(task.is_descendant_of(waiting) for waiting in idle):
            continue  # what follows an event subprocess that never started
        return False
    for task in idle:
        task.cancel()
    return True


_library_subworkflow_update = SubWorkflowTask._update_hook


def _subworkflow_update(self, my_task):
    """The last step a trigger opened is done and the event subprocess waits again (a cycle): the process's end,
    already waiting, is asked again — nothing else would ask it, the last step being inside the subprocess."""
    result = _library_subworkflow_update(self, my_task)
    if not result and _waiting_for_its_trigger(my_task):
        for join in list(my_task.workflow.tasks.values()):
            if isinstance(join.task_spec, _EndJoin) and join.state == TaskState.WAITING:
                join.task_spec._update(join)
    return result


def install_event_subprocess_end() -> None:
    _EndJoin._check_threshold_unstructured = _check_threshold_unstructured
    SubWorkflowTask._update_hook = _subworkflow_update
