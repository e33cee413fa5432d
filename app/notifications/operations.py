"""Create notifications (bell) and their e-mails (outbox); scan SLAs; deliver the outbox.

A notification stores a kind and parameters, not text: the bell renders it in the reader's current
language, the e-mail in the recipient's saved language at the time it is written.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import UTC, timedelta
from email.message import EmailMessage

from flask import current_app, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.audit.operations import hold_chain, record_event
from app.engine.models import HumanTask
from app.extensions import db
from app.i18n import N_
from app.notifications.models import Notification, OutboxEmail
from app.people.models import Organisation, User
from app.people.roles import ROLE_SCOPE, Role, Scope

log = logging.getLogger(__name__)
KINDS = ("task_created", "act_returned", "due_soon", "overdue", "on_behalf", "reassigned", "deputy_named",
         "contract_amended", "application_ineligible", "act_accepted", "act_paid",
         "payment_returned", "account_to_confirm", "account_confirmed", "repayment_to_register",
         "settlement_repayment_to_register", "top_up_returned")
DUE_SOON = timedelta(days=1)


def render_text(kind: str, params: dict, translate=None, language: str | None = None) -> str:
    """The notification's sentence: in the current request's locale, or through ``translate`` (a
    gettext function for another locale — e-mails are written in the recipient's language)."""
    p = {"subject": "", "due": "", "comment": "", "deputy": "", "by": "", "principal": "", "start": "", "end": "",
         "amount": "", "order": "", "paid_on": "", "iban": "", **params}
    from app.i18n import day_in, tenge_in
    from app.ui import task_label

    reader = language or str(get_locale() or "ru")
    if isinstance(params.get("amount_tiyn"), int):  # money and dates in the reader's language, not the writer's
        p["amount"] = tenge_in(params["amount_tiyn"], reader)
    for name in ("paid_on", "due", "start", "end"):  # ISO dates and months stored; read as the pages write them
        if params.get(name):
            p[name] = day_in(params[name], reader)
    if translate is None:
        translate = _
        p["task"] = task_label(p.get("spec_name", ""), p.get("task", ""))
    else:  # the recipient's language: the model's own name in it, else the catalogue's
        p["task"] = task_label(p.get("spec_name", ""), p.get("task", ""), language, translate)

    def t(msgid: str, **names) -> str:
        return translate(msgid) % {name: p[name] for name in names}

    texts = {
        "task_created": lambda: t(N_("New task: %(task)s — %(subject)s"), task=1, subject=1),
        "act_returned": lambda: t(N_("Act returned for correction: %(subject)s. %(comment)s"), subject=1, comment=1),
        "due_soon": lambda: t(N_("Due soon: %(task)s — %(subject)s (due %(due)s)"), task=1, subject=1, due=1),
        "overdue": lambda: t(N_("Overdue: %(task)s — %(subject)s (was due %(due)s)"), task=1, subject=1, due=1),
        "on_behalf": lambda: t(N_("%(deputy)s completed “%(task)s” on your behalf — %(subject)s"), deputy=1, task=1,
                               subject=1),
        "reassigned": lambda: t(N_("%(by)s assigned you a task: %(task)s — %(subject)s"), by=1, task=1, subject=1),
        "deputy_named": lambda: t(N_("%(principal)s named you deputy from %(start)s to %(end)s: their tasks are in "
                                     "your inbox."), principal=1, start=1, end=1),
        "contract_amended": lambda: t(N_("Contract %(subject)s amended by the education department, from %(start)s: "
                                         "see its new terms."), subject=1, start=1),
        "application_ineligible": lambda: t(N_("Application %(subject)s is not eligible: its page says why and how to "
                                               "apply again."), subject=1),
        # at 0 ₸ nothing is paid (app.payments.operations.close_without_payment): "0 ₸ to be paid" promised a payment
        "act_accepted": lambda: t(N_("Act %(subject)s accepted by the education department at 0 ₸: nothing to pay, "
                                     "the act is closed without a payment order."), subject=1)
        if params.get("amount_tiyn") == 0 else
        t(N_("Act %(subject)s accepted by the education department: %(amount)s to be paid."), subject=1, amount=1),
        "act_paid": lambda: t(N_("Act %(subject)s paid: %(amount)s, payment order %(order)s of %(paid_on)s."),
                              subject=1, amount=1, order=1, paid_on=1),
        # the bank could not pay the account itself (app.payments.returns.ACCOUNT_REASONS): the school knows its new one
        "payment_returned": lambda: t(N_("Act %(subject)s: the bank returned payment order %(order)s (%(amount)s): "
                                         "it could not pay your account. Tell the education department your "
                                         "organisation's current bank account; the act is paid again to it."),
                                      subject=1, order=1, amount=1)
        if params.get("reason") in ("account_closed", "wrong_details") else
        t(N_("Act %(subject)s: the bank returned payment order %(order)s (%(amount)s). The act is to be paid again."),
          subject=1, order=1, amount=1),
        "account_confirmed": lambda: t(N_("Act %(subject)s: the education department confirmed account %(iban)s. "
                                          "Pay the act again on its page."), subject=1, iban=1),
        # four eyes (app.payments.returns.check_repayer): the operator who recorded the return does not pay again
        "repayment_to_register": lambda: t(N_("Act %(subject)s: %(by)s recorded that the bank returned payment order "
                                              "%(order)s (%(amount)s). Another operator pays the act again: register "
                                              "the new payment order on the act's page (four eyes)."),
                                           subject=1, by=1, order=1, amount=1),
        "settlement_repayment_to_register": lambda: t(N_(
            "Contract %(subject)s: %(by)s recorded that the bank returned payment order %(order)s (%(amount)s) of a "
            "top-up paid outside the acts. Another operator pays it again: register the new payment order on the "
            "contract's page (four eyes)."), subject=1, by=1, order=1, amount=1),
        # the school's side of a returned top-up paid outside the acts (app.contracts.settlements)
        "top_up_returned": lambda: t(N_("Contract %(subject)s: the bank returned payment order %(order)s "
                                        "(%(amount)s) of a top-up paid outside the acts. The top-up is to be paid "
                                        "again."), subject=1, order=1, amount=1),
        "account_to_confirm": lambda: t(N_("Act %(subject)s: the bank returned payment order %(order)s. Before it is "
                                           "paid again to a new account, confirm that account on the act's page."),
                                        subject=1, order=1),
    }
    return texts[kind]() if kind in texts else kind


_catalogs: dict[str, object] = {}


def translator_for(locale: str):
    """A gettext function for ``locale`` that does not touch Flask-Babel's per-request state.

    (``flask_babel.force_locale`` swaps the application-wide locale selector, which would leak the
    recipient's language into other threads' requests.)
    """
    from babel.support import Translations

    if locale not in _catalogs:
        directory = current_app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")[0]
        _catalogs[locale] = Translations.load(directory, [locale], domain="messages")
    return _catalogs[locale].gettext


def task_params(task: HumanTask, **extra) -> dict:
    """The task's words for a notice. Its due day is Kazakhstan's, as the inbox shows it: a deadline at 00:30 in
    Astana is 19:30 the day before in UTC, and the notice named that day."""
    due = task.due_at
    if due is not None:
        due = (due if due.tzinfo else due.replace(tzinfo=UTC)).astimezone(clock.KZ)
    return {"spec_name": task.spec_name, "task": task.title, "subject": task.subject_title,
            "due": due.strftime("%Y-%m-%d") if due else "", "comment": "", **extra}


def notify(user: User, kind: str, task: HumanTask | None = None, **extra) -> Notification:
    params = task_params(task, **extra) if task is not None else dict(extra)
    note = Notification(user_id=user.id, kind=kind, params=params, task=task, created_at=clock.now())
    db.session.add(note)
    if user.email:
        _queue_email(user, note)
    return note


def _queue_email(user: User, note: Notification) -> None:
    # Linked by relationship, not id: the note and its e-mail go into the transaction's next flush together.
    db.session.add(OutboxEmail(notification=note, **email_fields(user, note.kind, note.params)))


def email_fields(user: User, kind: str, params: dict) -> dict:
    """The outbox row of one notification, written in the recipient's saved language."""
    language = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "ru")
    translate = translator_for(language)
    text = render_text(kind, params, translate, language)
    body = "\n\n".join([
        translate(N_("Hello, %(name)s.")) % {"name": user.full_name}, text,
        translate(N_("Open Tapsyrys to see the task. This message was sent automatically.")),
    ])
    configured = bool(current_app.config.get("MAIL_SERVER"))
    return {"user_id": user.id, "to_address": user.email, "subject": f"Tapsyrys: {text}"[:255], "body": body,
            "status": "pending" if configured else "stored", "created_at": clock.now()}


def recipients(task: HumanTask) -> list[User]:
    """Who should hear about a task: its assignee, or everyone of its role in its scope; plus their deputies."""
    return recipients_for(task.role, task.region_id, task.organisation_id, task.assignee_id)


def _scope_of(role: str) -> Scope | None:
    return ROLE_SCOPE.get(Role(role)) if role in Role._value2member_map_ else None


def recipient_key(task: HumanTask) -> tuple:
    """Tasks with the same key have the same recipients (what :func:`recipients_for` reads of a task)."""
    if task.assignee_id:
        return ("assignee", task.assignee_id)
    scope = _scope_of(task.role)
    if scope is Scope.ORGANISATION:
        return (task.role, None, task.organisation_id)
    if scope is Scope.REGION:
        return (task.role, task.region_id, None)
    return (task.role, None, None)


def recipients_for(role: str | tuple[str, ...], region_id: int | None, organisation_id: int | None,
                   assignee_id: int | None = None) -> list[User]:
    """The assignee, or every active user of ``role`` in the scope; plus the active deputies standing in for
    any of them today. One query. ``role`` may name several roles of one scope (a school's director and
    accountants)."""
    from sqlalchemy import or_

    from app.people.substitutions import Substitution

    if assignee_id:
        principals = select(User.id).where(User.id == assignee_id)
    else:
        roles = (role,) if isinstance(role, str) else tuple(role)
        scopes = {_scope_of(r) for r in roles}
        if len(scopes) != 1:
            raise ValueError(f"roles of different scopes: {roles}")
        principals = select(User.id).where(User.role.in_(roles), User.active.is_(True))
        scope = scopes.pop()
        if scope is Scope.ORGANISATION:
            principals = principals.where(User.organisation_id == organisation_id)
        elif scope is Scope.REGION:
            principals = principals.join(Organisation, Organisation.id == User.organisation_id).where(
                Organisation.region_id == region_id)
    today = clock.today()
    deputies = select(Substitution.deputy_id).where(
        Substitution.principal_id.in_(principals), Substitution.starts_on <= today, Substitution.ends_on >= today,
        Substitution.revoked_at.is_(None))
    deputy = User.id.in_(deputies) & User.active.is_(True)
    with db.session.no_autoflush:  # reads only users and substitutions: nothing pending to flush first
        return list(db.session.scalars(select(User).where(or_(User.id.in_(principals), deputy)).order_by(User.id)))


def department_heads(region_id: int | None) -> list[User]:
    if region_id is None:
        return []
    return list(db.session.scalars(
        select(User).join(Organisation, Organisation.id == User.organisation_id)
        .where(User.role == Role.DEPARTMENT_HEAD.value, User.active.is_(True), Organisation.region_id == region_id)
    ))


def scan_sla(now=None) -> dict[str, int]:
    """Notify once when an open task becomes due soon, and once when it is overdue (heads are told too).

    The row's ``sla_state`` records the last notice, so running the scan often never repeats one. The
    caller commits.
    """
    now = now or clock.now()
    counts = {"due_soon": 0, "overdue": 0}
    overdue = db.session.scalars(select(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at <= now,
        (HumanTask.sla_state.is_(None)) | (HumanTask.sla_state != "overdue"),
    ).limit(1000)).all()
    def overdue_notice(task: HumanTask) -> bool:
        hold_chain(f"instance:{task.instance_id}")  # before the task's row (the lock order: app.audit.operations)
        if not _take_notice(task, "overdue", (HumanTask.sla_state.is_(None)) | (HumanTask.sla_state != "overdue")):
            return False
        people = {u.id: u for u in [*recipients(task), *department_heads(task.region_id)]}
        for user in people.values():
            notify(user, "overdue", task)
        record_event(f"instance:{task.instance_id}", "task.overdue", "human_task", task.id, actor_id=None,
                     details={"task": task.spec_name, "notified": len(people)})
        return True

    for task in overdue:
        counts["overdue"] += _isolated_notice(task, overdue_notice)
    soon = db.session.scalars(select(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at > now, HumanTask.due_at <= now + DUE_SOON,
        HumanTask.sla_state.is_(None),
    ).limit(1000)).all()
    def due_soon_notice(task: HumanTask) -> bool:
        if not _take_notice(task, "due_soon", HumanTask.sla_state.is_(None)):
            return False
        for user in recipients(task):
            notify(user, "due_soon", task)
        return True

    for task in soon:
        counts["due_soon"] += _isolated_notice(task, due_soon_notice)
    db.session.flush()
    return counts


def _take_notice(task: HumanTask, state: str, still_due) -> bool:
    """Record the notice on the task before sending it, guarded by the state the scan read: two passes at once
    (Celery beat started twice, an overlapping pass) both read the task as not yet notified, and both notified
    everyone; now the second one's UPDATE waits for the first's commit and finds the notice given."""
    taken = db.session.execute(update(HumanTask).where(HumanTask.id == task.id, still_due).values(sla_state=state)
                               .execution_options(synchronize_session=False)).rowcount
    if taken:
        set_committed_value(task, "sla_state", state)
    return taken == 1


def _isolated_notice(task: HumanTask, notice) -> int:
    """One task's notice in a savepoint: a failure rolls back that notice only (logged; ``sla_state`` unchanged,
    so the next pass tries it again) and the scan goes on with the other tasks. 1 when sent, else 0."""
    task_id = task.id
    try:
        with db.session.begin_nested():
            sent = notice(task)
            db.session.flush()
        return 1 if sent else 0  # not sent: another pass gave it meanwhile
    except Exception:
        log.exception("SLA notice for task %s failed; the scan goes on", task_id)
        return 0


def withdraw_notices_of(user: User, actor: User, why: str) -> dict[str, int]:
    """The person was moved to another organisation or role: what the bell and the outbox hold for them was about
    the tasks and cases of the scope they left. Their notifications are removed (a call to act on a task they can
    no longer open, and the old school's act numbers and names in the list), and the e-mails not yet sent
    (waiting, kept here, failed) are withdrawn: never sent, and not listed to them — an administrator still sees
    them. Audited with the counts and ``why``."""
    mine = select(Notification.id).where(Notification.user_id == user.id).scalar_subquery()
    # an e-mail keeps its own subject and body: only its link to the removed notification goes
    db.session.execute(update(OutboxEmail).where(OutboxEmail.notification_id.in_(mine))
                       .values(notification_id=None).execution_options(synchronize_session=False))
    notes = db.session.execute(Notification.__table__.delete().where(Notification.user_id == user.id)).rowcount
    mails = db.session.execute(update(OutboxEmail).where(
        OutboxEmail.user_id == user.id, OutboxEmail.status.in_(("pending", "stored", "failed")))
        .values(status="withdrawn", error=why).execution_options(synchronize_session=False)).rowcount
    if notes or mails:
        record_event(f"user:{user.id}", "notices.withdrawn", "user", user.id, actor_id=actor.id,
                     details={"notifications": notes, "emails": mails, "because": why})
    return {"notifications": notes, "emails": mails}


def unread_count(user: User) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(user: User, note_id: int | None = None) -> int:
    """Mark one (or all) of the user's notifications read; never another user's."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if note_id is not None:
        query = query.where(Notification.id == note_id)
    return db.session.execute(query.values(read_at=clock.now())).rowcount


class UnsendableMail(ValueError):
    """An outbox row that no retry can send as it is stored (its recipient address is not one plain address)."""


def email_message(mail: OutboxEmail, sender: str) -> EmailMessage:
    """The message of an outbox row. The address is used as stored or not at all: a line break in it would add
    headers (``Bcc: …``), a list would add recipients. The subject is folded onto one line (a task's name may have
    a line break in the model)."""
    msg = EmailMessage()
    msg["From"] = sender
    try:
        msg["To"] = mail.to_address
        recipients = msg["To"].addresses
    except ValueError as err:  # a line break (CR or LF) in the address
        raise UnsendableMail(f"not a valid recipient address: {err}") from err
    if len(recipients) != 1 or not recipients[0].domain:
        raise UnsendableMail(f"not a valid recipient address: {mail.to_address!r} is not one address")
    msg["Subject"] = " ".join(mail.subject.split())
    msg.set_content(mail.body)
    return msg


def transient_smtp_failure(err: Exception) -> bool:
    """A failure of the mail server, not of the mail: the connection dropped (a restarted server), or a 4xx reply
    ("421 shutting down", "451 try again later"). Such a mail is sent by a later pass; only a 5xx refusal or an
    unsendable address fails it for good."""
    if isinstance(err, smtplib.SMTPServerDisconnected) or _connection_lost(err):
        return True
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in err.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    return isinstance(err, smtplib.SMTPResponseException) and 400 <= err.smtp_code < 500


def _smtp_words(err: Exception) -> str:
    """A mail's failure as the logs say it: the server's codes and the kind of error, never the recipient's address
    (a refusal names it, an unsendable address is quoted) — the mail's row keeps the whole sentence for the outbox
    page."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _msg in err.recipients.values()})
        return f"recipient refused ({', '.join(map(str, codes))})"
    if isinstance(err, smtplib.SMTPResponseException):
        return f"{type(err).__name__} {err.smtp_code}"
    if isinstance(err, UnsendableMail):
        return "not a valid recipient address"
    return type(err).__name__


#: how long one pass may spend sending mails; the rest waits for the next pass
OUTBOX_PASS_SECONDS = 60

#: a mail claimed this long ago and neither sent nor failed was claimed by a pass that died: it is sent again
SENDING_TIMEOUT = timedelta(minutes=10)


def _claim(mail: OutboxEmail) -> bool:
    """Take the mail for this pass, in a transaction of its own (committed): ``sending`` since now (``sent_at``).
    Two passes at once — beat started twice, a pass still sending when the next one starts — each send a mail
    only if they took it; before, both read it pending and both sent it."""
    taken = db.session.execute(update(OutboxEmail).where(OutboxEmail.id == mail.id, OutboxEmail.status == "pending")
                               .values(status="sending", sent_at=clock.now())
                               .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def _release_abandoned_claims() -> None:
    """Mails whose pass died between taking and sending them (a killed worker) wait again (committed). One the
    server had accepted just before the death is sent twice: an e-mail is rather repeated than lost.

    A mail taken further ahead than the timeout was taken by a clock that ran ahead (put right since): it counts as
    abandoned too — it had stayed ``sending``, never sent, for as long as the clock had been wrong."""
    now = clock.now()
    released = db.session.execute(update(OutboxEmail).where(OutboxEmail.status == "sending", or_(
        OutboxEmail.sent_at < now - SENDING_TIMEOUT, OutboxEmail.sent_at > now + SENDING_TIMEOUT))
                                  .values(status="pending", sent_at=None)
                                  .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if released:
        log.warning("outbox: %s e-mail(s) taken by a pass that stopped are pending again", released)


def _connection_lost(err: Exception) -> bool:
    """The connection is gone: the server dropped it, said "421", or the socket failed (a timeout, a reset)."""
    return (isinstance(err, smtplib.SMTPServerDisconnected) or getattr(err, "smtp_code", 0) == 421
            or (isinstance(err, OSError) and not isinstance(err, smtplib.SMTPException)))


def deliver_outbox(limit: int = 100) -> dict[str, int]:
    """Send pending e-mails over SMTP (MAIL_SERVER, MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS,
    MAIL_FROM). Without MAIL_SERVER nothing is sent: mails stay stored and readable in the outbox page."""
    cfg = current_app.config if has_app_context() else {}
    counts = {"sent": 0, "failed": 0}
    if not cfg.get("MAIL_SERVER"):
        return counts
    _release_abandoned_claims()
    pending = db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == "pending")
                                 .order_by(OutboxEmail.id).limit(limit)).all()
    if not pending:
        return counts
    sender = cfg.get("MAIL_FROM", "tapsyrys@localhost")
    server = (cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT", 25)))
    if _mail_server_resting(server):
        return counts
    smtp = None
    try:
        smtp = smtplib.SMTP(*server, timeout=float(cfg.get("MAIL_TIMEOUT_SECONDS", 20)))
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
    except OSError as err:  # refused, no greeting within the timeout (a server that accepts and never answers), 421
        if smtp is not None:
            smtp.close()
        if not _connection_lost(err):
            raise
        _mail_server_away(server, err, len(pending))
        return counts
    _AWAY.clear()
    with smtp:
        began = time.monotonic()
        for mail in pending:
            if time.monotonic() - began > OUTBOX_PASS_SECONDS:
                # a slow mail server (each mail near its 20 s timeout) held the whole background pass — timers,
                # announcements, SLA notices — for up to half an hour; the rest waits for the next pass
                log.warning("outbox: the mail server is slow; %s s spent, the other pending mails wait for the next "
                            "pass", OUTBOX_PASS_SECONDS)
                break
            # Each mail on its own: one that cannot be written or is refused is marked failed with the reason,
            # and the pass goes on — a raise here would leave it pending, at the head of every later pass.
            if not _claim(mail):  # another pass (a second beat, an overlapping tick) sends it
                continue
            try:
                smtp.send_message(email_message(mail, sender))
                mail.status, mail.sent_at = "sent", clock.now()
                counts["sent"] += 1
            except (UnsendableMail, OSError) as err:  # smtplib's errors are OSErrors, as is a socket's
                if transient_smtp_failure(err):
                    mail.status, mail.sent_at = "pending", None
                    db.session.commit()
                    # the server asks to come back later: the mail stays pending for the next pass; when the
                    # connection is gone (a restarted server, "421"), so do the ones after it
                    counts["deferred"] = counts.get("deferred", 0) + 1
                    if _connection_lost(err):
                        log.warning("e-mail %s: the mail server went away (%s); the pending mails wait for the next "
                                    "pass", mail.id, err)
                        break
                    log.warning("e-mail %s to user %s deferred by the mail server: %s", mail.id, mail.user_id,
                                _smtp_words(err))
                    continue
                log.warning("e-mail %s to user %s failed: %s", mail.id, mail.user_id, _smtp_words(err))
                mail.status, mail.error = "failed", str(err)[:1000]
                counts["failed"] += 1
            db.session.commit()
    return counts


#: the mail server this process could not reach: its address, how many times in a row, and when to try it again
_AWAY: dict = {}

#: the longest a process waits before trying an unreachable mail server again
MAIL_SERVER_LONGEST_REST = timedelta(minutes=15)


def _mail_server_away(server: tuple[str, int], err: OSError, waiting: int) -> None:
    """The mail server could not be reached, or took the connection and never answered (each pass then waited the
    whole timeout, 20 s, and logged a traceback): the pending mails stay pending — nothing was taken — and this
    process tries the server again after a rest that doubles from one minute to fifteen, with one line each time."""
    failures = _AWAY.get("failures", 0) + 1 if _AWAY.get("server") == server else 1
    rest = min(timedelta(minutes=1) * 2 ** (failures - 1), MAIL_SERVER_LONGEST_REST)
    _AWAY.update(server=server, failures=failures, until=clock.now() + rest)
    log.warning("outbox: the mail server %s:%s cannot be used (%s); %s pending e-mail(s) wait, tried again in %s s",
                *server, err or type(err).__name__, waiting, int(rest.total_seconds()))


def _mail_server_resting(server: tuple[str, int]) -> bool:
    """Whether this process rests from a mail server it could not reach (:func:`_mail_server_away`). A rest dated
    further ahead than the longest one was set by a clock that ran ahead: it is over."""
    if _AWAY.get("server") != server:
        return False
    now = clock.now()
    return now < _AWAY["until"] <= now + MAIL_SERVER_LONGEST_REST


def resend_failed(mail_ids, actor: User) -> int:
    """E-mails that were not sent (``failed``: refused by the mail server, a bad address since corrected) back to
    ``pending``, so the next pass sends them; ``mail_ids`` None: every failed one. Audited on the ``outbox`` chain.
    Before, a failed mail stayed failed for good: a mail server down for a day lost that day's notifications with
    no way back but the database."""
    query = update(OutboxEmail).where(OutboxEmail.status == "failed")
    if mail_ids is not None:
        query = query.where(OutboxEmail.id.in_(list(mail_ids)))
    count = db.session.execute(query.values(status="pending", error=None, sent_at=None)).rowcount
    if count:
        record_event("outbox", "email.resent", "outbox_email", None, actor_id=actor.id,
                     details={"count": count, "mails": sorted(mail_ids) if mail_ids is not None else "every failed"})
    return count


def tick() -> dict[str, int]:
    """One background pass: new tasks announced, SLA notices, then the outbox. Meant for
    ``app.background.tick`` (one line)."""
    from app.notifications.announce import announce_backlog

    counts: dict[str, int] = {}
    # each part on its own: a failing SLA scan or mail server must not stop the announcements, nor the reverse
    for name, part in (("announce", lambda: {"announced": announce_backlog()}), ("sla", scan_sla),
                       ("outbox", deliver_outbox)):
        try:
            counts.update(part())
            db.session.commit()
        except Exception as err:
            from app.background import database_unavailable

            db.session.rollback()
            if condition := database_unavailable(err):  # one line: a traceback per part and pass points at no bug
                log.error("notification pass: %s failed: %s; the other parts go on", name, condition)
            else:
                log.exception("notification pass: %s failed; the other parts go on", name)
    return counts
