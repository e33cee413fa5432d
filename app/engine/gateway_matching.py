"""Joins that do not match their splits: models from other tools whose gateways the engine would run wrongly.

Checked with SpiffWorkflow 3.2 (tests/modeler/test_gateway_matching.py runs each shape):

* two tokens that can be on their way at the same time (branches of a parallel or inclusive gateway, a
  non-interrupting boundary event's path beside its step) meeting at an exclusive or event-based gateway, or at a
  step with several incoming flows: each token passes on its own, and every step after it runs once for each;
* a parallel gateway waiting for a flow that only one way of a choice leads to (an exclusive, event-based or
  inclusive gateway, a step's interrupting boundary event against its normal end, a non-interrupting boundary event
  that may never fire), while another of its flows does get a token: the instance waits there for good;
* a loop from inside a parallel branch back to before its split (or into the split itself, or into an earlier
  parallel join): the split starts its branches again while a branch of the previous round still runs, and the join
  pairs tokens of two rounds — depending on who finishes first, the steps after it ran twice.

A parallel gateway one of whose incoming flows comes back from after it (a loop through it) is run by the engine as
a loop: it does not wait for that flow on the first round, and lets the returning token through alone (SpiffWorkflow's
``ParallelGateway`` reads it so). The net models it that way; a notice says that other engines wait there for good.

Both in polynomial time. Which flows can carry a token at the same time is the concurrency relation of the
process read as a free-choice net (Kovalyov and Esparza's rules), on the places left once chains of steps are merged,
as sparse sets; which choices a flow depends on, from one pass over the level's loops and its dominator tree (a walk
per choice only for a choice on a loop). A level too large for the work budget is checked as far as the budget goes:
what is found is still right and refused, nothing is refused on a guess, and a notice names the joins left unchecked
(publishing stays allowed: the owner can check them, or split the level — each subprocess is checked on its own).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.engine.errors import ModelProblem
from app.engine.model_lint import BPMN, _bpmn, _links, _problem, local

_CONTAINERS = ".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction"
_FLOW_NODES = {
    "startEvent", "endEvent", "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent"}
#: gateways that wait for the tokens on their way (as a join); every other node lets each token through
_SYNCHRONISING = {"parallelGateway", "inclusiveGateway", "complexGateway"}
#: gateways that send the token one way (as a split); every other node with several flows out sends it all of them
_CHOOSING = {"exclusiveGateway", "eventBasedGateway"}
#: end events after which nothing else of the process level goes on (or whose catcher ends it)
_ENDING_ALL = ("terminateEventDefinition", "errorEventDefinition", "cancelEventDefinition",
               "escalationEventDefinition")
#: what a boundary event catches only when something inside its subprocess throws it
_THROWN = ("errorEventDefinition", "escalationEventDefinition", "cancelEventDefinition")
#: steps of work one check of one level may spend (twice: the relation, then the choices): far above a model of
#: 5,000 parallel gateways in a row (7,500) or 100 parallel branches of 100 steps (15,000)
_BUDGET = 1_000_000


class _OutOfBudget(Exception):
    pass


def _may_fire(boundary, activity) -> bool:
    """False for an error, escalation or cancel boundary event on a subprocess inside which nothing throws one (no
    such end or throw event, no call activity or service task that could): its path is never taken."""
    kinds = [local(d.tag) for d in boundary if local(d.tag) in _THROWN]
    if not kinds or local(activity.tag) not in ("subProcess", "transaction"):
        return True
    for el in activity.iter():
        if local(el.tag) in ("callActivity", "serviceTask"):
            return True
        if local(el.tag) in kinds and local(el.getparent().tag) in ("endEvent", "intermediateThrowEvent"):
            return True
    return False


class _Level:
    """One process or subprocess level as flows (places 0..F-1) and nodes (places F..F+N-1)."""

    def __init__(self, container):
        self.nodes = {el.get("id"): el for el in container if local(el.tag) in _FLOW_NODES and el.get("id")}
        self.flows: list[tuple[str, str, object]] = []  # (source id, target id, element)
        for flow in container:
            if local(flow.tag) == "sequenceFlow" and flow.get("sourceRef") in self.nodes \
                    and flow.get("targetRef") in self.nodes:
                self.flows.append((flow.get("sourceRef"), flow.get("targetRef"), flow))
        throws, catches = _links(container)  # a link is a flow from the throw to its one catch
        for name, events in throws.items():
            if len(catches.get(name, ())) == 1:
                self.flows += [(e.get("id"), catches[name][0].get("id"), e) for e in events if e.get("id")]
        self.out: dict[str, list[int]] = {n: [] for n in self.nodes}
        self.into: dict[str, list[int]] = {n: [] for n in self.nodes}
        for i, (source, target, _el) in enumerate(self.flows):
            self.out[source].append(i)
            self.into[target].append(i)
        self.boundaries: dict[str, list] = {}
        for el in self.nodes.values():
            if local(el.tag) == "boundaryEvent" and el.get("attachedToRef") in self.nodes \
                    and _may_fire(el, self.nodes[el.get("attachedToRef")]):
                self.boundaries.setdefault(el.get("attachedToRef"), []).append(el)
        self.index = {n: len(self.flows) + i for i, n in enumerate(self.nodes)}
        self.component = self._components()
        # a step whose non-interrupting boundary event fired once is a place of its own: the event's path runs
        # beside the step, not beside itself (firing again is a token of its own, as drawn)
        self.fired = {b.get("id"): len(self.flows) + len(self.nodes) + i for i, b in enumerate(
            b for bs in self.boundaries.values() for b in bs if b.get("cancelActivity", "true") == "false")}
        self.joined: set[str] = set()  # merges already said: read as the join they should be
        self.budget = _BUDGET
        # A node with one flow in, one flow out and no boundary event only passes the token on: it and its two flows
        # are one place of the net (chains of steps make most of a model; 400 steps in 20 branches took 0.4 s each
        # on its own place)
        self.rep = list(range(len(self.flows) + len(self.nodes) + len(self.fired)))
        for node_id, into in self.into.items():
            if len(into) == 1 and len(self.out[node_id]) == 1 and not self.boundaries.get(node_id):
                self._join(into[0], self.index[node_id])
                self._join(self.index[node_id], self.out[node_id][0])
        # the places left after the merge, numbered 0..P-1: the relation's work is in these, not in flows and nodes
        # (100 branches of 100 steps are 106 places of 20,106 flows and nodes)
        compact: dict[int, int] = {}
        self.rep = [compact.setdefault(self._find(p), len(compact)) for p in range(len(self.rep))]
        self.places = len(compact)

    def _components(self) -> dict[str, int]:
        """The strongly connected component of each node (Tarjan's, without recursion: a chain of 10,000 steps is one
        component each). A flow between two nodes of one component is on a loop."""
        after = {n: [self.flows[f][1] for f in self.out[n]] for n in self.nodes}
        for activity, boundaries in self.boundaries.items():
            after[activity] += [b.get("id") for b in boundaries]
        number: dict[str, int] = {}
        low: dict[str, int] = {}
        component: dict[str, int] = {}
        self.sinks_first: list[int] = []  # Tarjan completes a component after every component it reaches
        self.after = after
        stack: list[str] = []
        for root in self.nodes:
            if root in number:
                continue
            todo = [(root, 0)]
            while todo:
                node, i = todo.pop()
                if i == 0:
                    number[node] = low[node] = len(number)
                    stack.append(node)
                if i < len(after[node]):
                    todo.append((node, i + 1))
                    nxt = after[node][i]
                    if nxt not in number:
                        todo.append((nxt, 0))
                    elif nxt not in component:
                        low[node] = min(low[node], number[nxt])
                    continue
                if low[node] == number[node]:
                    self.sinks_first.append(number[node])
                    while True:
                        member = stack.pop()
                        component[member] = number[node]
                        if member == node:
                            break
                if todo:
                    parent = todo[-1][0]
                    low[parent] = min(low[parent], low[node])
        return component

    def returning(self, node_id: str) -> list[int]:
        """The incoming flows of a parallel gateway that come back from after it (a loop through it), when it has
        others: the engine does not wait for them on the first round and lets each through alone after."""
        if self.kind(node_id) != "parallelGateway":
            return []
        into = self.into[node_id]
        back = [f for f in into if self.component.get(self.flows[f][0]) == self.component[node_id]]
        return back if len(back) < len(into) else []

    def loop_flow(self, node_id: str) -> int | None:
        """A flow that closes a loop through the node: the first flow back to a node still on the way of a depth-first
        walk from the start events, both ends on one loop with the node."""
        component = self.component[node_id]
        starts = [n for n in self.nodes if not self.into[n]]
        seen: set[str] = set()
        on_way: set[str] = set()
        for root in starts + list(self.nodes):
            if root in seen:
                continue
            seen.add(root)
            on_way.add(root)
            todo = [(root, iter(self.out[root]))]
            while todo:
                node, flows = todo[-1]
                flow = next(flows, None)
                if flow is None:
                    on_way.discard(node)
                    todo.pop()
                    continue
                target = self.flows[flow][1]
                if target in on_way and self.component[target] == component == self.component[node]:
                    return flow
                if target not in seen:
                    seen.add(target)
                    on_way.add(target)
                    todo.append((target, iter(self.out[target])))
        return None

    def _find(self, place: int) -> int:
        while self.rep[place] != place:
            self.rep[place] = self.rep[self.rep[place]]
            place = self.rep[place]
        return place

    def _join(self, a: int, b: int) -> None:
        self.rep[self._find(a)] = self._find(b)

    def together(self, conc: list[set[int]], a: int, b: int) -> bool:
        """Whether places a and b can hold a token at the same time."""
        return self.rep[b] in conc[self.rep[a]]

    def spend(self, amount: int = 1) -> None:
        self.budget -= amount
        if self.budget < 0:
            raise _OutOfBudget

    def kind(self, node_id: str) -> str:
        return local(self.nodes[node_id].tag)

    def shown(self, node_id: str) -> str:
        el = self.nodes[node_id]
        return repr(el.get("name") or node_id)

    # ---- which flows can carry a token at the same time ----------------------------------------------------

    def transitions(self) -> list[tuple[list[int], list[int]]]:
        """The level as a net: each node's place takes its incoming flows (all at once at a synchronising gateway,
        each alone elsewhere) and gives its outgoing ones (one of them at a choosing gateway, all of them
        elsewhere); a boundary event takes its step's place (an interrupting one) or runs beside it."""
        found = []
        for node_id, into in self.into.items():
            place = self.index[node_id]
            if (self.kind(node_id) in _SYNCHRONISING or node_id in self.joined) and into:
                back = self.returning(node_id)
                found.append(([f for f in into if f not in back], [place]))
                found += [([f], [place]) for f in back]
            else:
                found += [([f], [place]) for f in into]
            out = self.out[node_id]
            if self.kind(node_id) in _CHOOSING:
                found += [([place], [f]) for f in out]
            elif out:
                found.append(([place], out))
            boundaries = self.boundaries.get(node_id, ())
            interrupting = [self.index[b.get("id")] for b in boundaries if b.get("cancelActivity", "true") != "false"]
            found += [([place], [caught]) for caught in interrupting]
            for boundary in boundaries:
                if boundary.get("id") in self.fired:
                    after = self.fired[boundary.get("id")]
                    found.append(([place], [after, self.index[boundary.get("id")]]))
                    found += [([after], out)] if out else []
                    found += [([after], [caught]) for caught in interrupting]
        placed = []
        for inputs, outputs in found:
            inputs, outputs = sorted({self.rep[p] for p in inputs}), sorted({self.rep[p] for p in outputs})
            if inputs != outputs:  # a step of a chain: its place is its flows'
                placed.append((inputs, outputs))
        return placed

    def concurrency(self) -> list[set[int]]:
        """For each place, the set of places that can hold a token at the same time as it (a least fixed point: the
        outputs of one transition are concurrent; a place concurrent with every input of a transition is concurrent
        with its outputs).

        Sparse sets, each new pair propagated once (semi-naive): the work is the size of the relation times the
        transitions that read it, not the places times the width of a bit set (2,500 parallel split/join pairs in
        a row were 6 million units of bit set words and ran out of the budget; their relation is 5,000 pairs)."""
        transitions = self.transitions()
        conc: list[set[int]] = [set() for _ in range(self.places)]
        fresh: list[set[int]] = [set() for _ in range(self.places)]  # pairs not yet propagated, per place
        taking: dict[int, list[int]] = {}
        work: deque[int] = deque()
        queued: set[int] = set()

        def pair(a: int, b: int) -> None:
            if b in conc[a]:
                return
            self.spend()
            conc[a].add(b)
            conc[b].add(a)
            fresh[a].add(b)
            fresh[b].add(a)
            for place in (a, b):
                if place not in queued:
                    queued.add(place)
                    work.append(place)

        for number, (inputs, outputs) in enumerate(transitions):
            for place in inputs:
                taking.setdefault(place, []).append(number)
            for i, place in enumerate(outputs):
                for other in outputs[i + 1:]:
                    pair(place, other)
        input_sets = [set(inputs) for inputs, _outputs in transitions]
        while work:
            place = work.popleft()
            queued.discard(place)
            new, fresh[place] = fresh[place], set()
            for number in taking.get(place, ()):
                inputs, outputs = transitions[number]
                others = [q for q in inputs if q != place]
                for candidate in new:
                    self.spend()
                    # an input of the transition is beside every input only if it can hold two tokens itself
                    if candidate in input_sets[number] and candidate not in conc[candidate]:
                        continue
                    if all(candidate in conc[q] for q in others):
                        self.spend(len(others))
                        for target in outputs:
                            pair(target, candidate)
                    else:
                        self.spend(len(others))
        return conc

    # ---- which flows a choice decides ------------------------------------------------------------------------

    def reach(self, flows, blocked: str) -> set[int]:
        """The flows a token reaches from ``flows`` without passing the node ``blocked`` (a step reached also
        starts its boundary events' paths)."""
        seen: set[int] = set()
        todo = list(flows)
        while todo:
            flow = todo.pop()
            if flow in seen:
                continue
            self.spend()
            seen.add(flow)
            target = self.flows[flow][1]
            if target == blocked:
                continue
            todo += self.out[target]
            for boundary in self.boundaries.get(target, ()):
                todo += self.out[boundary.get("id")]
        return seen

    def on_loop(self, node_id: str) -> bool:
        """Whether a token leaving the node can come back to it."""
        if not hasattr(self, "_sizes"):
            self._sizes: dict[int, int] = {}
            for component in self.component.values():
                self._sizes[component] = self._sizes.get(component, 0) + 1
        component = self.component[node_id]
        return self._sizes[component] > 1 or node_id in self.after[node_id]

    def dominators(self) -> dict[str, tuple[int, int]]:
        """The dominator tree of the level from its start events (Cooper, Harvey and Kennedy's iteration), as the
        interval of each reached node in a walk of the tree: a node dominates another when its interval holds the
        other's. A flow leaves a node the choice dominates exactly when no token reaches it without passing the
        choice."""
        root = object()
        starts = [n for n, el in self.nodes.items() if local(el.tag) == "startEvent" and not self.into[n]]
        successors = {root: starts, **self.after}
        post: list = []
        seen = {root}
        todo = [(root, iter(successors[root]))]
        while todo:
            node, rest = todo[-1]
            nxt = next(rest, None)
            if nxt is None:
                post.append(node)
                todo.pop()
            elif nxt not in seen:
                seen.add(nxt)
                todo.append((nxt, iter(successors[nxt])))
            self.spend()
        position = {n: len(post) - i for i, n in enumerate(post)}  # reverse postorder, the root first (1)
        predecessors: dict = {n: [] for n in post}
        for node in post:
            for nxt in successors[node]:
                predecessors[nxt].append(node)
        idom = {root: root}
        changed = True
        in_order = sorted(post, key=position.__getitem__)[1:]
        while changed:
            changed = False
            for node in in_order:
                chosen = None
                for pred in predecessors[node]:
                    if pred not in idom:
                        continue
                    if chosen is None:
                        chosen = pred
                        continue
                    a, b = pred, chosen
                    while a is not b:
                        self.spend()
                        while position[a] > position[b]:
                            a = idom[a]
                        while position[b] > position[a]:
                            b = idom[b]
                    chosen = a
                if idom.get(node) is not chosen:
                    idom[node] = chosen
                    changed = True
        children: dict = {}
        for node, parent in idom.items():
            if node is not root:
                children.setdefault(parent, []).append(node)
        interval: dict = {}
        clock = 0
        todo = [(root, iter(children.get(root, ())))]
        opened = {root: 0}
        while todo:
            node, rest = todo[-1]
            nxt = next(rest, None)
            if nxt is None:
                clock += 1
                interval[node] = (opened[node], clock)
                todo.pop()
            else:
                clock += 1
                opened[nxt] = clock
                todo.append((nxt, iter(children.get(nxt, ()))))
        return {n: i for n, i in interval.items() if n is not root}

    def starts(self) -> list[int]:
        return [f for n, el in self.nodes.items() if local(el.tag) == "startEvent" and not self.into[n]
                for f in self.out[n]]

    def choices(self):
        """(node, [(way, flows)], pairs of ways (a, b) such that a run may take a and not b)."""
        for node_id, el in self.nodes.items():
            out = self.out[node_id]
            if self.kind(node_id) in _CHOOSING | {"inclusiveGateway"} and len(out) > 1:
                ways = [(None, [f]) for f in out]
                yield node_id, ways, [(a, b) for a in range(len(ways)) for b in range(len(ways)) if a != b]
            boundaries = self.boundaries.get(node_id)
            if boundaries and local(el.tag) != "boundaryEvent":
                ways = [(None, out)] + [(b, self.out[b.get("id")]) for b in boundaries]
                interrupting = [0] + [i + 1 for i, b in enumerate(boundaries)
                                      if b.get("cancelActivity", "true") != "false"]
                pairs = [(a, b) for a in interrupting for b in interrupting if a != b]
                pairs += [(i + 1, 0) for i, b in enumerate(boundaries) if b.get("cancelActivity", "true") == "false"]
                yield node_id, ways, pairs

    def ends_all(self, flows: set[int]) -> bool:
        for flow in flows:
            target = self.nodes[self.flows[flow][1]]
            if local(target.tag) == "endEvent" and any(target.find(f"{{{BPMN}}}{d}") is not None
                                                        for d in _ENDING_ALL):
                return True
        return False


class _Reaching:
    """The flows of interest (the inputs of parallel joins, the flows into an end event that ends the level) that a
    token reaches from each node, for all nodes at once: one pass over the level's loops (strongly connected
    components), those reached first, one bit set per component. Walking the level again from every choice was
    choices times flows (2,500 exclusive splits in a parallel branch: 6 million steps)."""

    def __init__(self, level: _Level, interesting: set[int]):
        self.level = level
        self.flow_of = sorted(interesting)
        self.number = {f: i for i, f in enumerate(self.flow_of)}
        self.words = len(self.flow_of) // 64 + 1
        members: dict[int, list[str]] = {}
        for node, component in level.component.items():
            members.setdefault(component, []).append(node)
        self.bits: dict[int, int] = {}
        for component in level.sinks_first:
            bits = 0
            for node in members[component]:
                for flow in level.out[node]:
                    bits |= self._own(flow)
                for nxt in level.after[node]:
                    if level.component[nxt] != component:
                        level.spend(self.words)
                        bits |= self.bits[level.component[nxt]]
            self.bits[component] = bits

    def _own(self, flow: int) -> int:
        self.level.spend()
        return 1 << self.number[flow] if flow in self.number else 0

    def from_flows(self, flows) -> set[int]:
        """The flows of interest a token reaches from ``flows`` (those among them included)."""
        bits = 0
        for flow in flows:
            bits |= self._own(flow) | self.bits[self.level.component[self.level.flows[flow][1]]]
        self.level.spend(self.words + bits.bit_count())
        digits = bin(bits)[:1:-1]
        return {self.flow_of[i] for i, digit in enumerate(digits) if digit == "1"}


@dataclass
class JoinCheck:
    """What the join check says of a model: the joins refused, and the notices (a loop back into a parallel join;
    a level too large for the check to finish, with the joins it did not check)."""

    problems: list[ModelProblem] = field(default_factory=list)
    loop_notices: list[ModelProblem] = field(default_factory=list)
    unfinished: list[ModelProblem] = field(default_factory=list)  # a level too large to check to its end

    @property
    def notices(self) -> list[ModelProblem]:
        return self.loop_notices + self.unfinished


def check_joins(trees: dict) -> JoinCheck:
    """Every join that does not match its split (see the module's docstring), on the join, with its line; and the
    notices. Each process and subprocess level is checked on its own, within its own budget."""
    check = JoinCheck()
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for container in _bpmn(root, _CONTAINERS):
            level = _Level(container)
            if not level.flows:
                continue
            found, drawn, final = _unsynchronised(filename, level)
            level.budget = _BUDGET  # each check its own
            waiting, unchecked = _waiting_for_good(filename, level, drawn)
            mixed = _rounds_mixed(filename, level, final)
            check.problems += found + waiting + mixed
            if final is None:  # the relation is not known to its end: every merge and join not said is unchecked
                said = {p.element_id for p in found + waiting}
                unchecked = [n for n, into in level.into.items() if len(into) > 1 and n not in said]
            if unchecked:
                check.unfinished.append(_too_large(filename, container, level, unchecked))
            if drawn is not None and not _rounds_mixed(filename, level, drawn):
                check.loop_notices += _loop_join_notices(filename, level)
    return check


def join_problems(trees: dict) -> list[ModelProblem]:
    """The joins refused (:func:`check_joins`)."""
    return check_joins(trees).problems


def join_notices(trees: dict) -> list[ModelProblem]:
    """The join check's notices (:func:`check_joins`)."""
    return check_joins(trees).notices


#: joins named in the notice of a level too large to check; the rest are counted
_NAMED = 20


def _too_large(filename: str, container, level: _Level, unchecked: list[str]) -> ModelProblem:
    """A level whose check ran out of its budget: what was found is right and refused, but the joins listed may
    still let a step run twice or wait for good. Publishing stays allowed (nothing is refused on a guess); the owner
    is told which joins to look at, and how to make the check finish."""
    names = ", ".join(level.shown(n) for n in unchecked[:_NAMED])
    if len(unchecked) > _NAMED:
        names = _("%(names)s and %(n)s more", names=names, n=len(unchecked) - _NAMED)
    return _problem(filename, container, _(
        "This process is too large for the join check to finish within its work limit, so these joins were not "
        "checked (whether a step after them could run twice, or an instance wait there for good): %(joins)s. "
        "Check them yourself before publishing, or move parts of the process into subprocesses or called "
        "processes: each is checked on its own.", joins=names))


def _loop_join_notices(filename: str, level: _Level) -> list[ModelProblem]:
    """Notices, not problems: a parallel gateway with a flow back from after it (a loop through it) in a level whose
    rounds do not mix (else :func:`_rounds_mixed` refuses it). The engine runs it as a loop; a BPMN engine that
    follows the standard (Camunda, Flowable) waits there for good on the first round — the model does not travel."""
    notices = []
    for node_id in level.nodes:
        back = level.returning(node_id) if len(level.into[node_id]) > 1 else []
        if back:
            notices.append(_problem(filename, level.nodes[node_id], _(
                "The flow from %(source)s comes back to this parallel gateway from after it. This engine runs it "
                "as a loop (it does not wait for that flow the first time), but a BPMN engine that follows the "
                "standard waits here for good: merge the loop with an exclusive gateway before this one.",
                source=level.shown(level.flows[back[0]][0]))))
    return notices


def _rounds_mixed(filename: str, level: _Level, conc: list[set[int]] | None) -> list[ModelProblem]:
    """The joins to which two tokens can come on one flow: a loop leads from inside a parallel branch back to before
    its split, so the split starts its branches again while one of the previous round still runs (the engine then
    paired tokens of two rounds: the steps after the join ran twice when the looping branch finished first)."""
    if conc is None:
        return []
    problems = []
    for node_id, into in level.into.items():
        if level.kind(node_id) not in ("parallelGateway", "inclusiveGateway") or len(into) < 2:
            continue
        twice = next((f for f in into if level.together(conc, f, f)), None)
        if twice is None:
            continue
        source = level.shown(level.flows[twice][0])
        split = next((n for n in level.nodes if len(level.out[n]) > 1 and level.kind(n) not in _CHOOSING
                      and any(level.together(conc, f, f) for f in level.out[n])), None)
        loop = level.loop_flow(split) if split is not None else None
        if loop is None:
            message = _(
                "Two tokens can come to this join on the flow from %(source)s at the same time: a loop leads from "
                "inside a parallel branch back to before its split, which then starts its branches again while one "
                "of the previous round still runs. The join would pair tokens of different rounds (the steps after "
                "it ran twice, or it waited for good). Loop back from after the join, or keep the loop inside one "
                "branch.", source=source)
        else:
            message = _(
                "Two tokens can come to this join on the flow from %(source)s at the same time: the flow from "
                "%(loop_from)s to %(loop_to)s leads from inside a branch of %(split)s back to before it, so "
                "%(split)s starts its branches again while one of the previous round still runs. The join would "
                "pair tokens of different rounds (the steps after it ran twice, or it waited for good). Loop back "
                "from after the join, or keep the loop inside one branch.", source=source,
                loop_from=level.shown(level.flows[loop][0]), loop_to=level.shown(level.flows[loop][1]),
                split=level.shown(split))
        problems.append(_problem(filename, level.nodes[node_id], message))
    return problems


def _only_to_ends(level: _Level, node_id: str) -> bool:
    """Whether the node is an end event, or a gateway every way out of which goes straight to one: each token ends
    there as its own path would at an end event of its own (drawn once for several paths), nothing runs twice."""
    if level.kind(node_id) == "endEvent":
        return True
    out = level.out[node_id]
    return level.kind(node_id) in _CHOOSING and bool(out) and all(level.kind(level.flows[f][1]) == "endEvent"
                                                                 for f in out)


def _unsynchronised(filename: str, level: _Level,
                    ) -> tuple[list[ModelProblem], list[set[int]] | None, list[set[int]] | None]:
    """The merges that let through tokens of branches running side by side, and the concurrency relation of the level
    as drawn and with those merges read as joins (None past the budget). Said where the branches first meet: a merge
    is said once those before it are read as joins (the tokens it lets through twice make every later merge look the
    same)."""
    problems: list[ModelProblem] = []
    drawn = None
    while True:
        try:
            conc = level.concurrency()
        except _OutOfBudget:
            return problems, drawn, None
        drawn = conc if drawn is None else drawn
        found = {}
        for node_id, into in level.into.items():
            kind = level.kind(node_id)
            if len(into) < 2 or kind in _SYNCHRONISING or node_id in level.joined:
                continue
            if _only_to_ends(level, node_id):
                continue
            pair = next(((a, b) for i, a in enumerate(into) for b in into[i + 1:] if level.together(conc, a, b)), None)
            if pair is not None:
                found[node_id] = pair
        if not found:
            return problems, drawn, conc
        after = set()
        for node_id in found:
            after |= {level.flows[f][1] for f in level.reach(level.out[node_id], node_id)} - {node_id}
        first = [n for n in found if n not in after] or list(found)
        for node_id in first:
            problems.append(_problem(filename, level.nodes[node_id], _unsynchronised_message(level, node_id,
                                                                                             found[node_id])))
        level.joined |= set(first)


def _unsynchronised_message(level: _Level, node_id: str, pair: tuple[int, int]) -> str:
    first, second = (level.shown(level.flows[f][0]) for f in pair)
    if level.kind(node_id) in _CHOOSING:
        return _(
            "The flows from %(first)s and %(second)s can bring a token to this gateway at the same time (they "
            "come from branches that run side by side): it lets each token through, so every step after it "
            "would run once for each. Join such branches with a parallel gateway (with an inclusive gateway "
            "when an inclusive gateway split them).", first=first, second=second)
    return _(
        "The flows from %(first)s and %(second)s can bring a token to this element at the same time (they "
        "come from branches that run side by side): it would run once for each, and so would every step "
        "after it. Join the branches with a parallel gateway before it (with an inclusive gateway when an "
        "inclusive gateway split them).", first=first, second=second)


def _waiting_for_good(filename: str, level: _Level, conc: list[set[int]] | None,
                      ) -> tuple[list[ModelProblem], list[str]]:
    """The parallel joins that would wait for good (see the module's docstring), and those the budget left
    unchecked."""
    problems: list[ModelProblem] = []
    joins = {n: into for n, into in level.into.items() if level.kind(n) == "parallelGateway" and len(into) > 1}
    said: set[str] = set()
    try:
        _deciding_choices(filename, level, conc, joins, said, problems)
    except _OutOfBudget:
        return problems, [n for n in joins if n not in said]
    return problems, []


def _deciding_choices(filename: str, level: _Level, conc: list[set[int]] | None, joins: dict[str, list[int]],
                      said: set[str], problems: list[ModelProblem]) -> None:
    if not joins:
        return
    inputs = {f: join for join, into in joins.items() for f in into}
    ending = {f for f in range(len(level.flows)) if level.ends_all((f,))}
    reaching = dominators = None
    starts = level.starts()
    for choice, ways, pairs in level.choices():
        if len(said) == len(joins):
            break
        if level.on_loop(choice):  # a way may come back to the choice: walk the level from it
            reached = [level.reach(flows, choice) for _boundary, flows in ways]
            back = [any(level.flows[f][1] == choice for f in r) for r in reached]
            ends = [level.ends_all(r) for r in reached]
        else:  # nothing comes back to it: what each way reaches is what its first flows reach
            reaching = reaching or _Reaching(level, set(inputs) | ending)
            reached = [reaching.from_flows(flows) for _boundary, flows in ways]
            back = [False] * len(ways)
            ends = [bool(r & ending) for r in reached]
        decided = {f for r in reached for f in r if f in inputs and inputs[f] not in said}
        if not decided:
            continue
        # reached without this choice too: it does not decide them (a flow from a node no token reaches without
        # passing the choice — the choice dominates it — or from a node no start event reaches)
        if level.on_loop(choice):
            decided -= level.reach(starts, choice)
        else:
            dominators = dominators or level.dominators()
            decided = {f for f in decided if _only_through(dominators, choice, level.flows[f][0])}
        beside = conc[level.rep[level.index[choice]]] if conc is not None else set()
        for flow in sorted(decided):
            join = inputs[flow]
            if join in said:
                continue
            for taken, other in pairs:
                if flow not in reached[taken] or flow in reached[other]:
                    continue
                if back[other] or ends[other]:
                    continue  # the other way comes back to choose again, or ends the whole level
                if not any(f != flow and (f in reached[other] or level.rep[f] in beside) for f in joins[join]):
                    continue  # nothing reaches the join when the other way is taken: it does not wait
                said.add(join)
                problems.append(_problem(filename, level.nodes[join], _message(level, choice, ways, taken, flow)))
                break


def _only_through(dominators: dict[str, tuple[int, int]], choice: str, node: str) -> bool:
    """Whether every way from a start event to ``node`` passes ``choice`` (or none reaches it)."""
    if node not in dominators:
        return True
    if choice not in dominators:
        return False
    (opened, closed), (start, end) = dominators[choice], dominators[node]
    return opened <= start and end <= closed


def _message(level: _Level, choice: str, ways, taken: int, flow: int) -> str:
    source = level.shown(level.flows[flow][0])
    boundary = ways[taken][0]
    kind = level.kind(choice)
    if kind in _CHOOSING:
        return _("This parallel gateway waits for a token on every incoming flow, but the one from %(source)s comes "
                 "only when %(split)s chooses that way: when it chooses another, the instance would wait here for "
                 "good. Join the ways of a choice with an exclusive gateway, or end the process on the other way "
                 "with a terminate end event.", source=source, split=level.shown(choice))
    if kind == "inclusiveGateway":
        return _("This parallel gateway waits for a token on every incoming flow, but the one from %(source)s comes "
                 "only when the inclusive gateway %(split)s takes that way, and it may not: the instance would then "
                 "wait here for good. Join the ways of an inclusive gateway with an inclusive gateway.",
                 source=source, split=level.shown(choice))
    if boundary is not None and boundary.get("cancelActivity", "true") == "false":
        return _("This parallel gateway waits for a token on every incoming flow, but the one from %(source)s comes "
                 "only if the boundary event %(event)s fires, and it may not: the instance would then wait here for "
                 "good. End the boundary event's path with an end event of its own.",
                 source=source, event=level.shown(boundary.get("id")))
    return _("This parallel gateway waits for a token on every incoming flow, but the one from %(source)s comes only "
             "when %(step)s ends that way (normally, or through one of its boundary events), and it cannot end two "
             "ways: the instance would wait here for good. Join these paths with an exclusive gateway, or end the "
             "process on the other path with a terminate end event.", source=source, step=level.shown(choice))
