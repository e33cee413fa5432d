"""Every state change the inbox makes: claim, unclaim, reassign, bulk accept, saved filters, comments,
attachments. Each checks authorisation itself (views are thin) and writes its audit event."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError

from app import clock
from app.audit.operations import hold_chain, hold_chains, record_event
from app.database import held_elsewhere, remove_unless_committed
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, FormInvalid, StepFailed, TaskNotAvailable
from app.engine.forms import direction_controls, direction_controls_refused
from app.engine.models import HumanTask
from app.engine.runtime import can_act, can_act_directly, complete_task
from app.extensions import db
from app.i18n import format_tenge
from app.inbox.models import SavedFilter, TaskAttachment, TaskComment
from app.inbox.queries import InboxFilter, bulk_candidates
from app.limits import take_posting_allowance
from app.people.access import can_see, sees_personal_data
from app.people.models import User
from app.people.roles import Role
from app.security import clean_filename


def _chain(task: HumanTask) -> str:
    return f"instance:{task.instance_id}"


def _require_open(task: HumanTask) -> None:
    if task.status != "open":
        raise ConflictError(_("This task is no longer open."))


# -- claim / unclaim / reassign -------------------------------------------------------------------------------
def claim(task: HumanTask, user: User) -> None:
    """Take a group task. The conditional UPDATE makes two simultaneous claims end with exactly one owner."""
    _require_open(task)
    if not can_act_directly(user, task):
        if task.assignee_id and task.assignee_id != user.id:
            raise ConflictError(_("%(name)s has already claimed this task.", name=task.assignee.full_name))
        raise TaskNotAvailable(_("This task is not in your group."))
    if task.assignee_id == user.id:
        return
    # The instance's chain before the task's row, as a step holds them (app.audit.operations.hold_chain): the claim
    # then waits for a step or a comment on the case under way, or they for it — not each for the other.
    hold_chain(_chain(task))
    now = clock.now()
    changed = db.session.execute(
        update(HumanTask).where(HumanTask.id == task.id, HumanTask.status == "open", HumanTask.assignee_id.is_(None))
        .values(assignee_id=user.id, claimed_at=now).execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(task)
    if changed != 1:
        # completed (or cancelled) while the claim waited for the case's chain, or just before: not "someone else
        # has claimed it" (the official who accepted the act in one tab read that in the other)
        _require_open(task)
        raise ConflictError(_("Someone else has just claimed this task."))
    record_event(_chain(task), "task.claimed", "human_task", task.id, actor_id=user.id,
                 details={"task": task.spec_name}, alongside=True)


def can_manage(user: User, task: HumanTask) -> bool:
    """A department head manages the claims of tasks in their region (admin: everywhere)."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.DEPARTMENT_HEAD and can_see(user, task.region_id, task.organisation_id)


def _keep_trial_with_owner(task: HumanTask) -> None:
    """A trial run's tasks belong to the process owner who started it (app.processes.trials): released or
    handed on, nobody could complete them."""
    if getattr(task, "is_trial", False):
        raise DomainRefused(_("A trial run's task stays with the person who started the run."))


def unclaim(task: HumanTask, user: User) -> None:
    _require_open(task)
    if task.assignee_id is None:
        return
    _keep_trial_with_owner(task)
    if task.assignee_id != user.id and not can_manage(user, task):
        raise TaskNotAvailable(_("Only the person who claimed this task or a department head can release it."))
    previous = task.assignee_id
    task.assignee_id = None
    task.claimed_at = None
    record_event(_chain(task), "task.unclaimed", "human_task", task.id, actor_id=user.id,
                 details={"task": task.spec_name, "from_user_id": previous}, alongside=True)
    db.session.flush()


def release_claims_of(user: User, actor: User, why: str) -> int:
    """Give the open tasks ``user`` claimed back to their group — the person was moved to another organisation or
    role, or deactivated. Kept, each claim jammed its task: nobody else in the group could complete it
    (``can_act_directly``), and a school's task has no department head of its own to release it. Each release is
    audited on the task's instance with ``why``; a trial run's tasks stay with their owner. Returns the count."""
    tasks = db.session.scalars(select(HumanTask).where(
        HumanTask.assignee_id == user.id, HumanTask.status == "open", HumanTask.is_trial.is_(False))
        .order_by(HumanTask.id)).all()
    hold_chains([_chain(task) for task in tasks])  # every chain before any task's row, in one statement
    for task in tasks:
        task.assignee_id = None
        task.claimed_at = None
        record_event(_chain(task), "task.unclaimed", "human_task", task.id, actor_id=actor.id,
                     details={"task": task.spec_name, "from_user_id": user.id, "because": why}, alongside=True)
    if tasks:
        db.session.flush()
    return len(tasks)


def reassign_candidates(task: HumanTask) -> list[User]:
    """Active users who could do this task: its role, and the task inside their scope."""
    users = db.session.scalars(select(User).where(User.role == task.role, User.active.is_(True))
                               .order_by(User.full_name)).all()
    return [u for u in users if can_see(u, task.region_id, task.organisation_id)]


def reassign(task: HumanTask, head: User, to_user_id: int | None) -> User:
    _require_open(task)
    _keep_trial_with_owner(task)
    if not can_manage(head, task):
        raise TaskNotAvailable(_("Only a department head can reassign tasks."))
    target = db.session.get(User, to_user_id) if to_user_id else None
    if target is None or target not in reassign_candidates(task):
        raise DomainRefused(_("Choose a person who has this task's role in its region."))
    previous = task.assignee_id
    task.assignee_id = target.id
    task.claimed_at = clock.now()
    record_event(_chain(task), "task.reassigned", "human_task", task.id, actor_id=head.id,
                 details={"task": task.spec_name, "from_user_id": previous, "to_user_id": target.id,
                          "to": target.full_name}, alongside=True)
    db.session.flush()
    from app.notifications.operations import notify

    notify(target, "reassigned", task, by=head.full_name)
    return target


# -- bulk accept ---------------------------------------------------------------------------------------------
@dataclass
class BulkResult:
    task_id: int
    subject: str
    ok: bool
    message: str


@dataclass
class BulkSkipped:
    task_id: int
    subject: str  # "" for a task this user may not see (its title is not shown)
    reason: str


def _not_for_bulk(act_ids) -> dict[int, str]:
    """Of these acts, those a bulk acceptance must leave to their own page, with why: a line awaiting the
    official's review (offered, then refused on the click), or adjustments of earlier months — a claw-back or
    top-up of any size, whose rule and registry evidence the official sees only on the act's report (bulk
    accepted unseen, 19,870.97 ₸ of an October correction went through on the net amount alone)."""
    from app.acts.models import ActAdjustment
    from app.acts.review import acts_awaiting_review

    ids = list(act_ids)
    why = {act_id: _("it carries adjustments of earlier months: open it to see their evidence")
           for act_id in db.session.scalars(select(ActAdjustment.act_id).where(ActAdjustment.act_id.in_(ids))
                                            .distinct())} if ids else {}
    why.update({act_id: _("a line awaits your review") for act_id in acts_awaiting_review(ids)})
    return why


def held_from_bulk(tasks) -> dict[int, str]:
    """Of an inbox page's *Accept act* tasks, those a bulk acceptance leaves out (a line to review, adjustments),
    with why: the inbox shows it beside the act and offers no tick box for it (two queries per page)."""
    from app.engine.models import ProcessInstance

    waiting = {t.instance_id: t.id for t in tasks if t.spec_name == "accept_act" and t.status == "open"}
    if not waiting:
        return {}
    acts = {act_id: waiting[instance_id] for instance_id, act_id in db.session.execute(
        select(ProcessInstance.id, ProcessInstance.subject_id).where(ProcessInstance.id.in_(list(waiting)),
                                                                     ProcessInstance.subject_type == "act"))}
    return {acts[act_id]: reason for act_id, reason in _not_for_bulk(acts).items()}


def bulk_preview(user: User, task_ids: list[int]) -> tuple[list[tuple[HumanTask, object]], list[BulkSkipped]]:
    """The acts a bulk acceptance would take, each with its act as it is now (amount and version from the acts
    table, not the inbox copy): the confirmation page shows these amounts and carries each act's version back.
    And each selected task left out, with why — by name where the user may see the task."""
    from app.acts.models import Act
    from app.engine.runtime import get_task_for

    tasks = bulk_candidates(user, task_ids)
    acts = {a.id: a for a in db.session.scalars(select(Act).where(
        Act.id.in_([t.instance.subject_id for t in tasks if t.instance.subject_type == "act"])))}
    why = _not_for_bulk(acts)
    rows, skipped = [], []
    for t in tasks:
        act_id = t.instance.subject_id
        if act_id in acts and act_id not in why:
            rows.append((t, acts[act_id]))
        else:
            skipped.append(BulkSkipped(t.id, t.subject_number or t.subject_title or "",
                                       why.get(act_id, _("not an act"))))
    listed = {t.id for t in tasks}
    for task_id in dict.fromkeys(task_ids):
        if task_id in listed:
            continue
        try:
            task = get_task_for(user, task_id)
        except TaskNotAvailable:
            skipped.append(BulkSkipped(task_id, "", _("not a task you can accept")))
            continue
        if task.status != "open":
            reason = _("already done")
        elif task.spec_name != "accept_act":
            reason = _("not an act acceptance")
        elif task.excluded_lines:
            reason = _("it has excluded lines: decide it on its own page")
        else:
            reason = _("not a task you can accept")
        skipped.append(BulkSkipped(task_id, task.subject_number or task.subject_title or "", reason))
    return rows, skipped


def bulk_accept(user: User, task_ids: list[int], seen: dict[int, str]) -> list[BulkResult]:
    """Accept each clean act one by one, each in its own transaction (this function commits).

    Every task is re-checked here: open, *Accept act*, the user may act on it, and the act — read from
    the acts table now, not from the inbox copy — still has no excluded lines and is still the version the
    confirmation page showed (``seen``: task id → the act's version there). An act verified again in between
    (a month-wide pass, a review) may have another amount: it is left for its own page, never accepted unseen.
    A conflict or refusal on one act is reported and does not undo the others.
    """
    from app.acts.models import Act

    results: list[BulkResult] = []
    allowed = {t.id: t.subject_title for t in bulk_candidates(user, task_ids)}
    for task_id in dict.fromkeys(task_ids):
        subject = allowed.get(task_id)
        if subject is None:
            results.append(BulkResult(task_id, "", False, _("Not a clean act you can accept; skipped.")))
            continue
        try:
            task = db.session.get(HumanTask, task_id)
            act = db.session.get(Act, task.instance.subject_id) if task.instance.subject_type == "act" else None
            if act is None or act.status != "verified" or act.accepted_lines != act.total_lines:
                raise DomainRefused(_("The act has excluded lines or has changed; open it to decide."))
            if act.id in _not_for_bulk([act.id]):  # adjusted or put up for review since the page was shown
                raise DomainRefused(_("The act now needs its own page (adjustments or a line to review); "
                                      "open it to decide."))
            if not seen.get(task_id):
                raise DomainRefused(_("The act was not on the confirmation page; open it to decide."))
            complete_task(task_id, user, data={"decision": "accept"}, seen=seen[task_id])
            record_event(_chain(task), "task.bulk_accepted", "human_task", task_id, actor_id=user.id,
                         details={"act": act.number, "amount_tiyn": act.amount_tiyn})
            db.session.commit()
            results.append(BulkResult(task_id, subject, True, _("Accepted.")))
        except DomainConflict:
            db.session.rollback()
            act = db.session.get(Act, act.id)
            results.append(BulkResult(task_id, subject, False, _(
                "Verified again after the list was shown: its amount is now %(amount)s. Open it to decide.",
                amount=format_tenge(act.amount_tiyn))))
        except (ConflictError, DomainRefused, StepFailed, TaskNotAvailable, FormInvalid) as err:
            db.session.rollback()
            results.append(BulkResult(task_id, subject, False, str(err)))
        except OperationalError as err:
            db.session.rollback()
            if not held_elsewhere(err):
                raise
            # the act's row held by another transaction past REQUEST_LOCK_TIMEOUT_SECONDS (SQLite: the file past its
            # busy timeout): this act is left as it was,
            # the acts accepted before it stay accepted and the ones after it are tried
            results.append(BulkResult(task_id, subject, False, _(
                "Someone else is saving this act just now; it was not accepted. Try again in a moment.")))
    return results


# -- saved filters ------------------------------------------------------------------------------------------------
def visible_filters(user: User) -> list[SavedFilter]:
    """The user's own filters and those shared within their organisation (department)."""
    clauses = [SavedFilter.owner_id == user.id]
    if user.organisation_id:
        clauses.append((SavedFilter.shared.is_(True)) & (SavedFilter.organisation_id == user.organisation_id))
    return list(db.session.scalars(select(SavedFilter).where(or_(*clauses)).order_by(SavedFilter.name)))


def get_filter_for(user: User, filter_id: int) -> SavedFilter:
    saved = db.session.get(SavedFilter, filter_id)
    if saved is None or saved not in visible_filters(user):
        raise TaskNotAvailable(_("No such saved filter."))
    return saved


#: saved filters one person may keep: each is a named row, and a shared one is listed in every colleague's inbox — one
#: account saving filters again and again filled the department's list and the table
MAX_SAVED_FILTERS = 50


def save_filter(user: User, name: str, f: InboxFilter, shared: bool) -> SavedFilter:
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise DomainRefused(_("Give the filter a name (up to 80 characters)."))
    if direction_controls(name):  # a shared filter's name is read by colleagues: it reads as it was written
        raise DomainRefused(direction_controls_refused())
    if shared and not user.organisation_id:
        raise DomainRefused(_("Only members of an organisation can share filters."))
    kept = db.session.scalar(select(func.count()).select_from(SavedFilter).where(SavedFilter.owner_id == user.id))
    if kept >= MAX_SAVED_FILTERS:
        raise DomainRefused(_("You already keep %(count)s saved filters, the most one person can. Delete one you no "
                              "longer use first.", count=MAX_SAVED_FILTERS))
    params = f.params()
    saved = SavedFilter(owner_id=user.id, organisation_id=user.organisation_id, name=name, params=params,
                        shared=bool(shared), created_at=clock.now())
    db.session.add(saved)
    db.session.flush()
    record_event(f"user:{user.id}", "inbox.filter_saved", "saved_filter", saved.id, actor_id=user.id,
                 details={"name": name, "params": params, "shared": bool(shared)})
    return saved


def delete_filter(user: User, saved: SavedFilter) -> None:
    if saved.owner_id != user.id:
        raise TaskNotAvailable(_("Only the owner can delete a saved filter."))
    record_event(f"user:{user.id}", "inbox.filter_deleted", "saved_filter", saved.id, actor_id=user.id,
                 details={"name": saved.name})
    db.session.delete(saved)
    db.session.flush()


# -- comments and attachments -------------------------------------------------------------------------------------
ALLOWED_TYPES = {
    ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".csv": "text/csv",
    ".txt": "text/plain", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
MAGIC = {".pdf": b"%PDF-", ".png": b"\x89PNG", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff",
         ".xlsx": b"PK\x03\x04", ".docx": b"PK\x03\x04"}
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024
#: files one case (process instance) may hold: each file was bounded, their number was not — anyone working on a
#: case could fill the attachments folder by posting a 4 MB file again and again
MAX_CASE_ATTACHMENTS = 20
#: comments one person may write on one case (process instance): the page lists every comment of the case, and a
#: person could post thousands on it; how fast a person may post comments and files across all cases is
#: ``COMMENT_LIMIT`` / ``ATTACHMENT_LIMIT`` (app.limits)
MAX_CASE_COMMENTS_PER_AUTHOR = 100


def _require_visible(user: User, task: HumanTask) -> None:
    if not can_see(user, task.region_id, task.organisation_id) and not can_act(user, task):
        raise TaskNotAvailable(_("No such task."))


#: roles that see cases to run the system, not to work them: they write on a case only where they act on it
#: (a process owner's trial run), never on a school's act in a region
_OVERSEERS = frozenset({Role.PROCESS_OWNER, Role.ADMIN})


def may_write(user: User, task: HumanTask) -> bool:
    """Whether ``user`` may comment on ``task``'s case or attach files to it (the page shows the forms only then)."""
    try:
        _require_writer(user, task)
    except DomainRefused:
        return False
    return True


def _require_writer(user: User, task: HumanTask) -> None:
    """Auditors read everything and change nothing (DESIGN §1): no comments, no files. Process owners and
    administrators comment and attach only on tasks they may act on."""
    if user.role == Role.AUDITOR:
        raise DomainRefused(_("Auditors read; they cannot comment or attach files."))
    if user.role in _OVERSEERS and not can_act(user, task):
        raise DomainRefused(_("Only the people working on this case can comment on it or attach files."))


def add_comment(task: HumanTask, user: User, body: str) -> TaskComment:
    _require_writer(user, task)
    _require_visible(user, task)
    body = (body or "").strip()
    if not body:
        raise DomainRefused(_("Write a comment first."))
    if len(body) > 4000:
        raise DomainRefused(_("A comment can be at most 4000 characters."))
    if direction_controls(body):  # a comment is read by the case's other side: it reads as it was written
        raise DomainRefused(direction_controls_refused())
    written = db.session.scalar(select(func.count()).select_from(TaskComment).where(
        TaskComment.instance_id == task.instance_id, TaskComment.author_id == user.id))
    if written >= MAX_CASE_COMMENTS_PER_AUTHOR:
        raise DomainRefused(_("You have written %(count)s comments on this case, the most one person can write on "
                              "one case. Put anything more into an attached document.",
                              count=MAX_CASE_COMMENTS_PER_AUTHOR))
    wait = take_posting_allowance("COMMENT_LIMIT", f"user:{user.id}")
    if wait is not None:
        raise DomainRefused(_("You have written many comments in a short time. You can comment again in "
                              "%(minutes)s min; this comment was not saved.", minutes=minutes_to_wait(wait)))
    comment = TaskComment(task_id=task.id, instance_id=task.instance_id, author_id=user.id, body=body,
                          created_at=clock.now())
    db.session.add(comment)
    db.session.flush()
    record_event(_chain(task), "task.commented", "task_comment", comment.id, actor_id=user.id,
                 details={"task": task.spec_name, "comment": body[:200]}, alongside=True)
    return comment


def minutes_to_wait(seconds: int) -> int:
    """Seconds to wait, as whole minutes for a message (at least one)."""
    return max(1, -(-seconds // 60))


def attachments_dir() -> Path:
    path = Path(current_app.instance_path) / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def add_attachment(task: HumanTask, user: User, filename: str, data: bytes) -> TaskAttachment:
    """Store a file under a random name; the type is checked by extension *and* content signature."""
    _require_writer(user, task)
    _require_visible(user, task)
    original = clean_filename(filename, default="")  # no bidi overrides or invisible characters (issue 13 §4)
    ext = Path(original).suffix.lower()
    if not original or ext not in ALLOWED_TYPES:
        raise DomainRefused(_("Only PDF, PNG, JPEG, XLSX, DOCX, CSV or TXT files can be attached."))
    if not data:
        raise DomainRefused(_("The file is empty."))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise DomainRefused(_("The file is larger than %(mb)s MB.", mb=MAX_ATTACHMENT_BYTES // (1024 * 1024)))
    if ext in MAGIC and not data.startswith(MAGIC[ext]):
        raise DomainRefused(_("The file's content does not match its type (%(ext)s).", ext=ext))
    held = db.session.scalar(select(func.count()).select_from(TaskAttachment)
                             .where(TaskAttachment.instance_id == task.instance_id))
    if held >= MAX_CASE_ATTACHMENTS:
        raise DomainRefused(_("This case already holds %(count)s files, the most it can hold; attach no more, or "
                              "combine the documents into one file.", count=MAX_CASE_ATTACHMENTS))
    wait = take_posting_allowance("ATTACHMENT_LIMIT", f"user:{user.id}")
    if wait is not None:
        raise DomainRefused(_("You have attached many files in a short time. You can attach again in %(minutes)s "
                              "min; this file was not attached.", minutes=minutes_to_wait(wait)))
    stored = _store_file(secrets.token_hex(16) + ext, data)
    attachment = TaskAttachment(
        task_id=task.id, instance_id=task.instance_id, uploaded_by_id=user.id, filename=original,
        stored_name=stored, content_type=ALLOWED_TYPES[ext], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), created_at=clock.now(),
    )
    db.session.add(attachment)
    db.session.flush()
    record_event(_chain(task), "task.attachment_added", "task_attachment", attachment.id, actor_id=user.id,
                 details={"filename": original, "size": len(data), "sha256": attachment.sha256}, alongside=True)
    return attachment


log = logging.getLogger(__name__)


def _store_file(stored: str, data: bytes) -> str:
    """Write an attachment's file for the transaction under way. A disk that is full or cannot be written refuses
    the file with a message (it answered 500 and left the part written); a transaction that does not commit takes
    its files with it (a refused or failed attach left the file, a child's list perhaps, on disk with no row)."""
    path = None
    try:
        path = attachments_dir() / stored
        path.write_bytes(data)
    except OSError as err:
        if path is not None:
            path.unlink(missing_ok=True)
        log.error("attachment of %s bytes could not be stored (%s): %s", len(data), path, err)
        raise DomainRefused(_("The file could not be stored: the server's storage is full or unavailable. Nothing "
                              "was attached; try again later.")) from err
    remove_unless_committed(path)
    return stored


def attachment_for(user: User, attachment_id: int) -> tuple[TaskAttachment, Path]:
    attachment = db.session.get(TaskAttachment, attachment_id)
    if attachment is None:
        raise TaskNotAvailable(_("No such file."))
    task = db.session.get(HumanTask, attachment.task_id)
    _require_visible(user, task)
    # A file attached to a case is the case's evidence — often a list of children with IINs and names, which no
    # page can mask inside a file: only the roles that see personal data (and whoever attached it) download it.
    if not sees_personal_data(user) and attachment.uploaded_by_id != user.id:
        raise TaskNotAvailable(_("No such file."))
    return attachment, attachments_dir() / attachment.stored_name


