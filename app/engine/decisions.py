"""Decision tables as DMN defines their UNIQUE and ANY hit policies.

SpiffWorkflow 3.2's ``DMNEngine.decide`` stops at the first matching rule of a UNIQUE table: a table whose rules
overlap silently gave the first rule's output (probe D1). A UNIQUE table says at most one rule matches; when several
do, the table is wrong and the step fails with a message naming the rules, as an incident (the model's fault), so the
owner corrects the table instead of an instance going on with a result nobody chose. Installed once, at engine
import, as the timers' clock is.

A cell's ``?`` (the input) is found outside quotes in one pass (:func:`input_marks_replaced`): the library's
look-ahead regex rescanned the rest of the cell for every ``?``, and a cell that passes every check —
``> 1 # ??…?'``, the marks in a comment — held the worker 10 s at 10,000 of them, at every evaluation.
"""

from __future__ import annotations

from copy import copy

from flask_babel import gettext as _
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy, Rule


class SeveralUniqueRulesMatch(WorkflowTaskException):
    """Several rules of a UNIQUE decision table match the task's data."""


class MatchingRulesDisagree(WorkflowTaskException):
    """Several rules of an ANY decision table match the task's data and give different outputs."""


def _decide(self, task):
    policy = self.decision_table.hit_policy
    if policy not in (HitPolicy.UNIQUE.value, "ANY"):
        return _library_decide(self, task)
    check = self._DMNEngine__check_rule
    rules = [rule for rule in self.decision_table.rules if check(rule, task)]
    table = self.decision_table.name or self.decision_table.id
    shown = ", ".join(f"{rule.row_number} ({rule.id})" for rule in rules)
    if policy == "ANY":
        # ANY: several rules may match when they give the same output; SpiffWorkflow returned the first one's
        # whatever the others said, so the answer depended on the order of the rows.
        if len({repr(rule.output_as_dict(task)) for rule in rules}) > 1:
            raise MatchingRulesDisagree(_(
                "The decision table %(table)s has the hit policy ANY, but the rules that match give different "
                "outputs: rows %(rows)s. Correct the rules so that the ones that can match together give the same "
                "output, or choose the hit policy FIRST.", table=repr(table), rows=shown), task=task)
        return rules[:1]
    if len(rules) > 1:
        raise SeveralUniqueRulesMatch(_(
            "The decision table %(table)s has the hit policy UNIQUE, but several of its rules match: rows %(rows)s. "
            "Correct the rules so that at most one matches, or choose the hit policy FIRST.", table=repr(table),
            rows=shown), task=task)
    return rules


_library_decide = DMNEngine.decide


def input_marks_replaced(text: str, replacement: str) -> str:
    """``text`` with every ``?`` outside quotes replaced, in one pass from the end: a ``?`` is outside quotes when
    an even number of quote characters (``'`` or ``"``) follows it — what the library's regex
    ``(\\?)(?=(?:[^'"]|['"][^'"]*['"])*$)`` says, in time linear in the cell instead of its square."""
    if "?" not in text:
        return text
    parts: list[str] = []
    quotes_after = 0
    for char in reversed(text):
        if char == "?" and quotes_after % 2 == 0:
            parts.append(replacement)
            continue
        if char in "'\"":
            quotes_after += 1
        parts.append(char)
    return "".join(reversed(parts))


def _evaluate(self, input_expr, match_expr, task):
    """``DMNEngine.evaluate`` of SpiffWorkflow 3.2 as it is, the input marks found by :func:`input_marks_replaced`."""
    if match_expr is None:
        return True
    script_engine = task.workflow.script_engine
    match_expr = input_marks_replaced(match_expr, "dmninputexpr")
    if "dmninputexpr" in match_expr:
        external_context = {"dmninputexpr": script_engine.evaluate(task, input_expr)}
        return script_engine.evaluate(task, match_expr, external_context=external_context)
    script_engine.validate(input_expr)
    needs_eq = self.needs_eq(script_engine, match_expr)
    expr = f"({input_expr}) == ({match_expr})" if needs_eq else input_expr + match_expr
    return script_engine.evaluate(task, expr)


_library_result = DMNEngine.result


def _result(self, task):
    """``DMNEngine.result``, with DMN's answer when no rule matches: each output is null (an empty list for COLLECT).
    The library returned nothing, so the outputs kept whatever the task data held before — the previous round's
    answer in a loop, or a value the start data carried — and a step reading them failed or went on with it."""
    result = _library_result(self, task)
    if result:
        return result
    empty = [] if self.decision_table.hit_policy == HitPolicy.COLLECT.value else None
    for output in self.decision_table.outputs:
        key = output.name or output.label
        if not key:
            continue
        *parents, last = key.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = copy(empty)
    return result


_library_output = Rule.output_as_dict


def _output_as_dict(self, task):
    """``Rule.output_as_dict``, with DMN's answer for an empty output cell: null. The library wrote ``""``, so a
    number or a yes/no output of a rule that leaves it empty was a text, and ``norm > 0`` failed as it ran."""
    out = _library_output(self, task)
    for entry in self.outputEntries:
        if getattr(entry, "text", None):
            continue
        *parents, last = (entry.output.name or entry.output.label).split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = None
    return out


def install_unique_hit_policy() -> None:
    """The UNIQUE hit policy, the input marks of a cell found in linear time, and null outputs when no rule matches
    or a rule's output cell is empty."""
    DMNEngine.decide = _decide
    DMNEngine.evaluate = _evaluate
    DMNEngine.result = _result
    Rule.output_as_dict = _output_as_dict
