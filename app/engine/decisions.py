"""Decision tables as DMN defines their UNIQUE hit policy.

SpiffWorkflow 3.2's ``DMNEngine.decide`` stops at the first matching rule of a UNIQUE table: a table whose rules
overlap silently gave the first rule's output (probe D1). A UNIQUE table says at most one rule matches; when several
do, the table is wrong and the step fails with a message naming the rules, as an incident (the model's fault), so the
owner corrects the table instead of an instance going on with a result nobody chose. Installed once, at engine
import, as the timers' clock is.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy


class SeveralUniqueRulesMatch(WorkflowTaskException):
    """Several rules of a UNIQUE decision table match the task's data."""


def _decide(self, task):
    if self.decision_table.hit_policy != HitPolicy.UNIQUE.value:
        return _library_decide(self, task)
    check = self._DMNEngine__check_rule
    rules = [rule for rule in self.decision_table.rules if check(rule, task)]
    if len(rules) > 1:
        table = self.decision_table.name or self.decision_table.id
        shown = ", ".join(f"{rule.row_number} ({rule.id})" for rule in rules)
        raise SeveralUniqueRulesMatch(
            f"The decision table {table!r} has the hit policy UNIQUE, but several of its rules match: rows {shown}. "
            "Correct the rules so that at most one matches, or choose the hit policy FIRST.", task=task)
    return rules


_library_decide = DMNEngine.decide


def install_unique_hit_policy() -> None:
    DMNEngine.decide = _decide
