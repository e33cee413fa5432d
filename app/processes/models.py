"""Columns the operations cockpit adds to the engine's tables (migration 0011_cockpit).

Appended to the engine's mapped classes here, as the inbox does (app/inbox/models.py): the engine's model
stays the engine's, and the cockpit's columns and list indexes live with the cockpit.

* ``process_instance.is_trial`` / ``trial_owner_id``: an instance a process owner started from the modeler
  to try a model out. It is left out of production lists and counts and can be deleted.
* ``human_task.is_trial``: copied from the instance when the task is created, so the inbox keeps reading one
  table (trial tasks go only to the owner who started the run, see :mod:`app.processes.trials`).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, false

from app.engine.models import HumanTask, ProcessInstance

if "is_trial" not in ProcessInstance.__table__.c:
    ProcessInstance.is_trial = Column("is_trial", Boolean, nullable=False, default=False, server_default=false())
    ProcessInstance.trial_owner_id = Column("trial_owner_id", Integer, ForeignKey("user_account.id"))
    HumanTask.is_trial = Column("is_trial", Boolean, nullable=False, default=False, server_default=false())
    _pi = ProcessInstance.__table__
    # The cockpit's list: newest change first, within the filters people use most (see benchmarks/cockpit.py).
    for _name, *_cols in (
        ("ix_process_instance_list", "is_trial", "updated_at", "id"),
        ("ix_process_instance_list_status", "is_trial", "status", "updated_at", "id"),
        # process and region lead with the state too: the counts per state stay index-only under these filters
        ("ix_process_instance_list_process", "process_id", "status", "is_trial", "updated_at"),
        ("ix_process_instance_list_region", "region_id", "status", "is_trial", "updated_at"),
        ("ix_process_instance_list_org", "organisation_id", "status", "is_trial", "updated_at"),
        ("ix_process_instance_list_started", "is_trial", "started_at"),
        ("ix_process_instance_status_started", "is_trial", "status", "started_at"),  # counts in a start range
        ("ix_process_instance_list_version", "model_version_id", "status", "is_trial", "updated_at"),
        # region and process together (a department's view of one process): counts and page index-only (0015)
        ("ix_process_instance_list_region_process", "region_id", "process_id", "status", "is_trial", "updated_at"),
    ):
        Index(_name, *(_pi.c[c] for c in _cols))  # binds itself to the table
    # Business keys (act, contract, order numbers) start the title: a prefix search uses this index.
    Index("ix_process_instance_title", _pi.c.title, postgresql_ops={"title": "text_pattern_ops"})
    Index("ix_process_instance_trial_owner", _pi.c.trial_owner_id)
    Index("ix_human_task_open_spec", HumanTask.__table__.c.spec_name, HumanTask.__table__.c.status,
          HumanTask.__table__.c.instance_id)
    # The inbox of a national-scope role (the operator): its open tasks in creation order with no region or
    # organisation to narrow them — the page walks this index instead of sorting ~35,000 rows (0015).
    _ht = HumanTask.__table__.c
    Index("ix_human_task_national", _ht.role, _ht.status, _ht.is_trial, _ht.created_at, _ht.id)
    # The open-task counts — the nav badge on every page, the inbox's group tab — read only this index, for the
    # country and for a region: the claim is in it, which no index above has with the trial flag. Counted from
    # the heap instead, the operator's two counts read ~24,000 table pages each per request at 1,000,000 tasks
    # (≈70 ms each), a region's ~2,100 (1-2 ms; benchmarks/README.md). Most open tasks are unclaimed, so the
    # B-tree's deduplication keeps the index small (7 MB at 1,000,000 tasks; 0016).
    Index("ix_human_task_scope_count", _ht.role, _ht.status, _ht.is_trial, _ht.region_id, _ht.assignee_id)
