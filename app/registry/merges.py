"""NEDB's IIN merges: two IINs of one child, one retired, the other kept.

A merge list is imported as the registry kind ``nedb_merges`` (``flask import-nedb-merges``, or the Registries page).
Once its rows are loaded, :func:`apply_merges` — in the import's last transaction — keeps the list flat (a merge into
an IIN retired later points at the last survivor), takes out the merges that would go round in a circle, and moves
the retired IINs' NEDB rows to the surviving IIN (each kept in ``nedb_enrollment_removal`` as it was, reason
``merged``). From then on a line claiming a retired IIN is judged as the surviving child: by the verification
(:func:`app.acts.verification`'s ``tmp_vmerge``) and by the repricing of months already paid
(:mod:`app.acts.adjustments`) — two lines of the child across the two IINs in one act are a ``duplicate_line``, at two
schools on common days a ``double_enrolment`` on both schools' acts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from app import clock
from app.database import in_sets
from app.extensions import db
from app.registry.models import NedbEnrollment, NedbIinMerge, NedbRemoval

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def surviving_iins(iins: Iterable[str]) -> dict[str, str]:
    """{retired IIN: surviving IIN} for those of ``iins`` NEDB retired (none: {})."""
    found = {}
    for chunk in in_sets(NedbIinMerge.retired_iin, sorted(set(iins))):
        found.update(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)
                                        .where(chunk)).all())
    return found


def children_of(iins: Iterable[str]) -> dict[str, str]:
    """{IIN: the child it names (its surviving IIN, else itself)} for ``iins`` and every other IIN NEDB merged with
    the same child — what a search for a child's lines under any of its IINs asks for."""
    wanted = set(iins)
    up = surviving_iins(wanted)
    found = {iin: up.get(iin, iin) for iin in wanted}
    children = sorted(set(found.values()))
    for i in range(0, len(children), _CHUNK):
        found.update(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)
                                        .where(NedbIinMerge.surviving_iin.in_(children[i : i + _CHUNK]))).all())
    found.update({child: child for child in children})
    return found


def surviving_iin_of(iin):
    """The same mapping as :func:`surviving_iins`, as a SQL expression of an IIN column: the surviving IIN of a merge
    NEDB made, else the IIN itself."""
    return func.coalesce(select(NedbIinMerge.surviving_iin).where(NedbIinMerge.retired_iin == iin)
                         .correlate_except(NedbIinMerge).scalar_subquery(), iin)


@dataclass
class MergesApplied:
    merges: int = 0  # merges in the list after this import
    moved_rows: int = 0  # NEDB rows of a retired IIN now under the surviving one
    dropped_rows: int = 0  # rows of a retired IIN the surviving IIN already had (same school and enrolment date)
    #: merges taken out because they went round in a circle (A → B and B → A): [[retired, surviving], …]
    circular: list[list[str]] = field(default_factory=list)
    #: IINs whose lines are judged differently now: both sides of every merge whose rows were moved (the lines of a
    #: retired IIN the import names itself)
    iins: set[str] = field(default_factory=set)

    def report(self) -> dict:
        return {"merges": self.merges, "moved_rows": self.moved_rows, "dropped_rows": self.dropped_rows,
                **({"circular": self.circular} if self.circular else {})}


def apply_merges(import_id: int) -> MergesApplied:
    """Keep the merge list flat and move the NEDB rows of the IINs it retires, in the caller's transaction."""
    applied = MergesApplied()
    merges = dict(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)).all())
    final: dict[str, str] = {}
    circular: set[str] = set()
    for start in merges:
        seen, iin = [start], merges[start]
        while iin in merges and iin not in seen:
            seen.append(iin)
            iin = merges[iin]
        if iin in merges:  # round in a circle: no IIN of it survives, so none is merged
            circular.update(seen)
        else:
            final[start] = iin
    if circular:
        applied.circular = sorted([r, merges[r]] for r in circular)
        db.session.execute(delete(NedbIinMerge).where(NedbIinMerge.retired_iin.in_(sorted(circular)))
                           .execution_options(synchronize_session=False))
    for old, new in final.items():
        if merges[old] != new:  # a chain made flat
            db.session.execute(update(NedbIinMerge).where(NedbIinMerge.retired_iin == old)
                               .values(surviving_iin=new).execution_options(synchronize_session=False))
    applied.merges = len(final)
    now = clock.now()
    # every retired IIN's rows go to its survivor — not only this file's: a row of a retired IIN loaded by an older
    # file before the importer mapped merged IINs is moved too
    todo = sorted(old for old in final)
    for i in range(0, len(todo), _CHUNK):
        chunk = todo[i : i + _CHUNK]
        rows = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin.in_(chunk))
                                  .order_by(NedbEnrollment.id)).all()
        survivors = {final[r.iin] for r in rows}
        taken = {(e.iin, e.school_bin, e.enrolled_on) for e in db.session.scalars(
            select(NedbEnrollment).where(NedbEnrollment.iin.in_(sorted(survivors))))} if survivors else set()
        for row in rows:
            new = final[row.iin]
            db.session.add(NedbRemoval(import_id=import_id, reason="merged", removed_at=now, enrollment_id=row.id,
                                       iin=row.iin, full_name=row.full_name, school_bin=row.school_bin,
                                       school_kind=row.school_kind, grade=row.grade, enrolled_on=row.enrolled_on,
                                       withdrawn_on=row.withdrawn_on, surviving_iin=new))
            applied.iins.update((row.iin, new))
            key = (new, row.school_bin, row.enrolled_on)
            if key in taken:  # the surviving IIN has this enrolment already: NEDB's current word
                db.session.delete(row)
                applied.dropped_rows += 1
            else:
                row.iin = new
                taken.add(key)
                applied.moved_rows += 1
        db.session.flush()
    return applied


@dataclass
class MergeHistory:
    """What NEDB's merges and complete registers did to one IIN, for the registry lookup."""

    #: the IIN was retired: (surviving IIN, when its rows were moved or None, the import that moved them or None)
    merged_into: tuple[str, object, int | None] | None = None
    #: IINs NEDB retired into this one
    merged_from: list[str] = field(default_factory=list)
    #: its rows taken out by an import (a complete register, a merge), newest first
    removed: list[NedbRemoval] = field(default_factory=list)


def merge_history(iin: str) -> MergeHistory:
    history = MergeHistory()
    history.removed = list(db.session.scalars(select(NedbRemoval).where(NedbRemoval.iin == iin)
                                              .order_by(NedbRemoval.removed_at.desc(), NedbRemoval.id.desc())))
    survivor = surviving_iins([iin]).get(iin)
    if survivor is not None:
        # the merge list keeps no date: the evidence is the import that moved the retired IIN's rows, if it had any
        moved = next((r for r in reversed(history.removed) if r.reason == "merged"), None)
        history.merged_into = (survivor, moved.removed_at if moved else None, moved.import_id if moved else None)
    history.merged_from = list(db.session.scalars(select(NedbIinMerge.retired_iin)
                                                  .where(NedbIinMerge.surviving_iin == iin)
                                                  .order_by(NedbIinMerge.retired_iin)))
    return history
