"""Fill the inbox's search columns of a new human task in the engine's transaction.

The engine sends ``signals.task_created`` for every new row; copying the subject's number, school name
and BIN (and, for acts, the verification outcome) onto the row is what lets the inbox search and filter
without joining domain tables — one indexed table, fast at a million rows.
"""

from __future__ import annotations

from app.engine import signals
from app.extensions import db


@signals.task_created.connect
def fill_inbox_columns(task, **_kwargs) -> None:
    from app.inbox import models  # noqa: F401 - the extra columns are mapped there
    from app.people.models import Organisation

    instance = task.instance
    task.process_id = instance.process_id
    task.started_by_id = instance.started_by_id
    if task.organisation_id:
        org = db.session.get(Organisation, task.organisation_id)
        if org is not None and org.kind == "school":
            task.school_name = org.name[:255]
            task.school_bin = org.bin
    if instance.subject_type == "act" and instance.subject_id:
        from app.acts.models import Act

        act = db.session.get(Act, instance.subject_id)
        if act is not None:
            task.subject_number = act.number[:40]
            if act.status == "verified":
                task.excluded_lines = act.total_lines - act.accepted_lines
                task.amount_tiyn = act.amount_tiyn
    elif instance.subject_type and instance.subject_id:
        # Other instruments (contracts, applications…) are searchable by the instance title's first word.
        task.subject_number = (instance.title or "").split(" ")[0][:40] or None
