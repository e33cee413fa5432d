"""The cockpit's instance list: filters, counts per state, paging — over the ``process_instance`` table only.

Every filter narrows one base query that already holds the user's scope (:func:`scope_clause`) and leaves
trial runs out unless asked for, so no parameter typed into the URL can show more than the user may see.
Each filter has an index in migration 0011_cockpit; ``benchmarks/cockpit.py`` measures them at 1,000,000
instances. Counts per state are capped (shown as "1000+"): an exact count of a million rows would cost a
scan the page does not need.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from app import clock
from app.engine.models import HumanTask, ProcessInstance, ProcessModel, ProcessModelVersion
from app.extensions import db
from app.people.access import scope_clause
from app.people.models import Organisation
from app.processes import models as _cockpit_models  # noqa: F401 - maps is_trial / trial_owner_id
from app.registry.cells import UnreadableIdentifier, searched_identifier
from app.registry.identifiers import ASCII_12
from app.security import MAX_DB_INT
from app.user_input import ascii_int, calendar_date, escape_like, is_ascii_digits

#: the states people filter by; ``waiting`` and ``incident`` are how ``running`` and ``error`` are shown
STATES = ("running", "waiting", "incident", "suspended", "completed", "cancelled")
STORED = {"running": "running", "waiting": "running", "incident": "error", "suspended": "suspended",
          "completed": "completed", "cancelled": "cancelled"}
COUNTED = ("running", "incident", "suspended", "completed", "cancelled")
TRIAL = ("", "only", "include")
PAGE_SIZE = 25
MAX_PAGE = 400  # deep OFFSETs get slow; past it, narrow the filters
COUNT_CAP = 1_000
MATCH_LIMIT = 1_000  # business-key matches considered (a key names one act, contract or order: a handful)


def _has_open_task():
    # A correlated scalar sub-select with LIMIT 1, not EXISTS: inside an OR, PostgreSQL may turn EXISTS into a
    # hashed sub-plan over every open task (hundreds of thousands) where one index probe per row is enough.
    return (select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id, HumanTask.status == "open")
            .limit(1).correlate(ProcessInstance).scalar_subquery().is_not(None))


def waiting_clause():
    """A running instance that only waits — for a user task or a timer."""
    return and_(ProcessInstance.status == "running",
                or_(ProcessInstance.next_timer_at.is_not(None), _has_open_task()))


def shown_state(instance: ProcessInstance, has_open_tasks: bool) -> str:
    if instance.status == "running":
        return "waiting" if (has_open_tasks or instance.next_timer_at is not None) else "running"
    return {"error": "incident"}.get(instance.status, instance.status)


def _day(value: str) -> datetime:
    """The start of a day as people in Kazakhstan read it on the page (times are shown in the country's zone), in UTC
    as every time is stored (SQLite compares the stored text, without the offset)."""
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=clock.KZ).astimezone(UTC)


@dataclass
class InstanceFilter:
    process: str = ""
    version: str = ""
    state: str = ""
    region: str = ""
    org: str = ""
    q: str = ""
    element: str = ""
    started_from: str = ""
    started_to: str = ""
    updated_from: str = ""
    updated_to: str = ""
    trial: str = ""
    errors: list[str] = field(default_factory=list)

    PARAMS = ("process", "version", "state", "region", "org", "q", "element", "started_from", "started_to",
              "updated_from", "updated_to", "trial")

    @classmethod
    def from_args(cls, args) -> InstanceFilter:
        """Parse query parameters; a bad value is dropped with a message in the user's language, never a 500."""
        f = cls(**{k: (args.get(k) or "").strip()[:100] for k in cls.PARAMS if args.get(k)})
        if f.state and f.state not in STATES:
            f.errors.append(_("Unknown state; the filter was ignored."))
            f.state = ""
        if f.trial not in TRIAL:
            f.trial = ""
        # Numbers are ASCII digits (app/user_input.py): "²" or "１" is ignored like a word, never read or a 500.
        if f.version and _column_int(f.version) is None:
            f.errors.append(_("The version is a number; the version filter was ignored."))
            f.version = ""
        if f.region and _column_int(f.region) is None:
            f.errors.append(_("Unknown region; the region filter was ignored."))
            f.region = ""
        if f.org:  # a BIN as people write it, in ASCII digits (app/registry/cells.py)
            try:
                f.org = searched_identifier(f.org) or f.org
            except UnreadableIdentifier:
                f.errors.append(_("Type the BIN with the ordinary digits 0–9; the organisation filter was ignored."))
                f.org = ""
        for name in ("started_from", "started_to", "updated_from", "updated_to"):
            value = getattr(f, name)
            if value:  # ASCII digits, a calendar date (app/user_input.py): fromisoformat took 20261105 and 2026-W45-4
                day = calendar_date(value)
                if day is None:
                    f.errors.append(_("Dates are written YYYY-MM-DD; a wrong one was ignored."))
                setattr(f, name, day.isoformat() if day else "")
        return f

    def params(self, **changes) -> dict:
        data = {k: v for k, v in asdict(self).items() if k in self.PARAMS and v}
        data.update(changes)
        return {k: v for k, v in data.items() if v not in ("", None)}

    def base(self, user) -> Select:
        query = select(ProcessInstance).where(
            scope_clause(user, ProcessInstance.region_id, ProcessInstance.organisation_id))
        if self.trial == "only":
            return query.where(ProcessInstance.is_trial == true())
        if self.trial == "include":
            return query
        return query.where(ProcessInstance.is_trial == false())

    def apply(self, query: Select, *, with_state: bool = True) -> Select:
        pi = ProcessInstance
        if self.process and self.version:
            # Resolved first (a small table): the version's id implies its process, and a plain id keeps the
            # list and the counts on the (version, state) index.
            version_ids = list(db.session.scalars(
                select(ProcessModelVersion.id).join(ProcessModel)
                .where(ProcessModel.identifier == self.process, ProcessModelVersion.number == int(self.version))))
            query = query.where(pi.model_version_id.in_(version_ids) if version_ids else false())
        elif self.process:
            query = query.where(pi.process_id == self.process)
        if self.region:
            query = query.where(pi.region_id == int(self.region))
        if self.org:
            org_ids = self._organisation_ids()
            query = query.where(pi.organisation_id.in_(org_ids) if org_ids else false())
        if self.q:
            # The few instances with this key, found on the title index first (LIMIT keeps the planner from
            # walking the whole list in date order instead), then sorted and counted like any other filter.
            matching = select(pi.id).where(self._business_key()).limit(MATCH_LIMIT)
            query = query.where(pi.id.in_(matching.scalar_subquery()))
        if self.element:  # where the instance stands: its open tasks (held ones too, while it is suspended)
            query = query.where(exists().where(HumanTask.instance_id == pi.id,
                                               HumanTask.status.in_(("open", "suspended")),
                                               HumanTask.spec_name == self.element))
        if self.started_from:
            query = query.where(pi.started_at >= _day(self.started_from))
        if self.started_to:
            query = query.where(pi.started_at < _day(self.started_to) + timedelta(days=1))
        if self.updated_from:
            query = query.where(pi.updated_at >= _day(self.updated_from))
        if self.updated_to:
            query = query.where(pi.updated_at < _day(self.updated_to) + timedelta(days=1))
        if with_state and self.state:
            query = query.where(pi.status == STORED[self.state])
            if self.state == "waiting":
                query = query.where(waiting_clause())
        return query

    @property
    def by_start(self) -> bool:
        """With a start range the list is in start order: the start-date index then finds the page at once,
        where the last-change order would walk past every recently changed instance started outside it."""
        return bool(self.started_from or self.started_to)

    def order(self) -> tuple:
        pi = ProcessInstance
        if self.by_start:
            return pi.started_at.desc(), pi.id.desc()
        return pi.updated_at.desc(), pi.id.desc()

    def _organisation_ids(self) -> list[int]:
        """BIN (exact) or part of the name: organisations are a small table, resolved to ids first, so the
        planner sees the ids and takes the organisation index."""
        if ASCII_12.fullmatch(self.org):
            query = select(Organisation.id).where(Organisation.bin == self.org)
        else:
            query = (select(Organisation.id)
                     .where(Organisation.name.ilike(f"%{escape_like(self.org)}%", escape="\\")).limit(1000))
        return list(db.session.scalars(query))

    def _business_key(self):
        """Act, contract and order numbers begin the instance title (``A-2026-10-0001 · school``): a prefix
        search on the title index; a bare number also finds the instance by id."""
        term = self.q if is_ascii_digits(self.q) else self.q.upper()
        if db.session.get_bind().dialect.name == "sqlite":
            # SQLite's LIKE ignores case and so cannot use the index; a range over the title's index can.
            clause = and_(ProcessInstance.title >= term, ProcessInstance.title < term + "\U0010ffff")
        else:  # PostgreSQL: LIKE 'prefix%' uses the text_pattern_ops index whatever the collation
            clause = ProcessInstance.title.like(f"{escape_like(term)}%", escape="\\")
        number = _column_int(self.q)
        if number is not None:
            clause = or_(clause, ProcessInstance.id == number)
        return clause


def _column_int(text: str) -> int | None:
    """A number typed into the search or a filter, if the integer column it is compared with can hold it: past
    2,147,483,647 PostgreSQL refused the whole query ("Invalid input … Nothing was saved", a 422)."""
    number = ascii_int(text)
    return number if number is not None and number <= MAX_DB_INT else None


@dataclass
class InstancePage:
    instances: list[ProcessInstance]
    waiting_ids: set[int]
    page: int
    has_next: bool


def instance_page(user, f: InstanceFilter, page: int = 1, page_size: int = PAGE_SIZE) -> InstancePage:
    page = min(max(page, 1), MAX_PAGE)
    # The row shows its organisation's name: loaded for the whole page in one statement (lazily it was one
    # round trip per row — 24 of a request's 35 statements at 1M instances).
    query = f.apply(f.base(user)).order_by(*f.order()).options(selectinload(ProcessInstance.organisation))
    rows = list(db.session.scalars(query.limit(page_size + 1).offset((page - 1) * page_size)))
    shown = rows[:page_size]
    ids = [r.id for r in shown if r.status == "running"]
    waiting = set(db.session.scalars(select(HumanTask.instance_id).where(
        HumanTask.instance_id.in_(ids), HumanTask.status == "open")).all()) if ids else set()
    return InstancePage(instances=shown, waiting_ids=waiting, page=page, has_next=len(rows) > page_size)


def state_counts(user, f: InstanceFilter, cap: int = COUNT_CAP) -> dict[str, int]:
    """Instances per stored state under the current filters (the state filter aside), each at most ``cap``."""
    if f.element:
        # Under a current-step filter every count would probe the tasks of a million instances (or the
        # instances of every open task): measured at 1M, the counts cost hundreds of ms while the list itself
        # takes a few ms. The page lists the instances and leaves the counts out.
        return {}
    base = f.apply(f.base(user), with_state=False)
    counts = {}
    for state in COUNTED:
        sub = base.where(ProcessInstance.status == STORED[state]).with_only_columns(ProcessInstance.id).limit(cap)
        counts[state] = db.session.scalar(select(func.count()).select_from(sub.subquery())) or 0
    return counts


def filter_choices() -> dict:
    from app.people.models import Region

    return {
        "processes": [(m.identifier, m.name)
                      for m in db.session.scalars(select(ProcessModel).order_by(ProcessModel.name))],
        "regions": list(db.session.scalars(select(Region).order_by(Region.code))),
    }
