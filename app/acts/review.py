"""Needs review: the department official's decision on each act line an identity check flagged.

Verification marks a paid line with ``review_codes`` (rules.REVIEW_CHECKS: name differs from NEDB, age
implausible for the grade, more days claimed than enrolled). Nothing is withheld automatically; the official
sees both values and decides per line — *confirm* (paid as verified) or *exclude* (``review_excluded``,
re-applied by every later verification of the act). A decision holds for the values it was made on
(``ActLineReview.basis``, :func:`decision_holds`): a confirmation of "Иванов vs Ivanov" does not carry over to
"Иванов vs Петров" after NEDB changes — the line needs review again. :func:`ensure_reviews_resolved` is the one
check the accept step calls: an act with an undecided line cannot be accepted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import clock
from app.acts.models import REVIEW_DECISIONS, Act, ActLine, ActLineReview
from app.acts.rules import REVIEW_CHECKS, age_on, age_plausible, normalise_name
from app.audit.operations import record_event
from app.engine.errors import ConflictError, DomainRefused
from app.engine.forms import direction_controls, direction_controls_refused
from app.extensions import db
from app.people.access import get_visible_or_404
from app.people.roles import Role
from app.registry.identifiers import iin_birth_date
from app.user_input import ascii_int, is_local_path

bp = Blueprint("act_review", __name__)
MAX_COMMENT = 2000


def values_basis(line, codes: str) -> str:
    """The fingerprint of the values a decision on ``codes`` is about: for each check, the act's value and the
    registry's, as the official's page shows them — name: the act's and NEDB's name (normalised as the check compares
    them, rules.normalise_name); age: the grade and the IIN's birth date; days: the days claimed and NEDB's days
    (``paid_days``). A SHA-256 over them and the line's id: the decision keeps no copy of a name, and the same names
    on two lines give two fingerprints. ``line``: an ActLine or a row with its columns."""
    values: dict[str, list] = {}
    for code in sorted(set(codes.split(","))):
        if code == "name":
            values[code] = [normalise_name(line.full_name), normalise_name(line.registry_name)]
        elif code == "age":
            born = iin_birth_date(line.iin)
            values[code] = [line.grade, born.isoformat() if born else None]
        elif code == "days":
            values[code] = [line.days_attended, line.paid_days]
    payload = json.dumps([line.id, values], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def decision_holds(line, codes: str | None, basis: str | None) -> bool:
    """Whether a decision on ``codes`` made on the values ``basis`` still decides the flagged ``line``: the same
    checks, on the same values. A re-verification that brought other values (NEDB's name changed again, NEDB's days
    changed) leaves the line needing review again. A decision recorded before revision 0028 has no basis (the values
    it was made on were not kept): it holds on its codes alone, as every decision did before."""
    if codes is None or codes != line.review_codes:
        return False
    return basis is None or basis == values_basis(line, codes)


def exclusion_holds(line, codes: str | None, basis: str | None) -> bool:
    """Whether an official's *exclude* still excludes ``line`` — the line as verified without it (its review codes,
    NEDB's name, NEDB's days). An exclusion is a decision like a confirmation: it holds for the checks and values it was
    made on (:func:`decision_holds`), never whatever NEDB says later. When NEDB corrects the name so that it matches,
    the line no longer needs review and is paid; when NEDB brings other values, the line needs review again (asked
    anew, the old decision shown). When the values come back to those it was made on, it holds again. Evaluated here,
    in Python, for the verification pass (per act and month-wide alike)."""
    return decision_holds(line, codes, basis)


#: What an official's exclusion of a line on a decided act says on today's NEDB (:func:`decided_exclusion`).
HOLDS, NEEDS_REVIEW, LAPSED = "holds", "needs_review", "lapsed"


def decided_exclusion(line, decision, here: list, month_days_here: int, paid_days: int | None,
                      year_start: int) -> tuple[str, dict]:
    """An official's *exclude* of ``line`` on an act since accepted or paid, judged on today's NEDB as a verification
    would judge it on an open act (:func:`exclusion_holds`), and the values it is judged on.

    ``here``: today's NEDB enrolments of the student at the school active in the line's month; ``month_days_here``:
    the days NEDB has them here in it; ``paid_days``: the days the line would be paid (the licences' window, its
    grade); ``year_start``: the year the month's academic year starts in (the age check).

    * :data:`HOLDS` — the same checks on the same values (or values back to them): the line stays excluded, and a
      top-up paid since is clawed back;
    * :data:`NEEDS_REVIEW` — a check fails on other values: on an open act the official decides again; a decided
      act's line cannot be put to them (the review is of an act's own lines), so nothing changes for it — it is
      not topped up, and a top-up already accepted stays (it was accepted by an official, as a line confirmed after
      review is never clawed back on a check);
    * :data:`LAPSED` — NEDB's values now pass every check (the name corrected to match, NEDB's days no fewer than
      those claimed): the decision was about values NEDB no longer has, and the line is priced by every other rule
      as any excluded line; what it earns is a top-up on the school's next act, which the official accepts with that
      act — the old decision and today's values in its evidence.

    Returns the verdict and the evidence: the decision (checks, fingerprint, comment, when) and the values now."""
    names = {e.full_name for e in here}
    if line.full_name in names or not here:
        registered = line.full_name
    else:  # NEDB's current word: the name of the latest enrolment here (as the verification's _here_name_sql)
        registered = max(here, key=lambda e: (e.enrolled_on, e.full_name)).full_name
    codes = []
    if normalise_name(line.full_name) != normalise_name(registered):
        codes.append("name")
    if not age_plausible(iin_birth_date(line.iin), line.grade, year_start):
        codes.append("age")
    if line.days_attended > month_days_here:
        codes.append("days")
    now = _Line(line.id, line.iin, line.grade, line.full_name, line.days_attended,
                registered if "name" in codes else None, paid_days, ",".join(codes) or None)
    verdict = (HOLDS if exclusion_holds(now, decision.codes, decision.basis)
               else NEEDS_REVIEW if codes else LAPSED)
    evidence = {"review": {"decision": decision.decision, "codes": decision.codes, "basis": decision.basis,
                           "comment": decision.comment or "",
                           "decided_at": decision.decided_at.isoformat() if decision.decided_at else None,
                           "decided_by_id": decision.decided_by_id,
                           "now": {"codes": now.review_codes, "registry_name": now.registry_name,
                                   "days": month_days_here}}}
    return verdict, evidence


def exclusion_changes(rows) -> tuple[list[int], dict[int, list[dict]]]:
    """The verification's verdict on the lines an official excluded (``rows``: each line as verified now without the
    exclusion — ``id``, ``act_id``, ``line_no``, ``iin``, ``grade``, ``full_name``, ``days_attended``,
    ``registry_name``, ``paid_days``, ``review_codes`` — with its decision's ``decided_codes`` and ``basis``, and the
    line as last written: ``was_rule``, ``was_review_codes``, ``was_registry_name``, ``was_paid_days``).

    Returns the ids of the lines the exclusion still excludes, and per act what changed for the audit trail: an
    exclusion that no longer holds on a line it excluded until now (``lapsed``: the line is paid, or needs review
    again), or one that holds again on a line it did not exclude (``restored``: the values came back to those it was
    made on). The exclusion applied right after the official made it is neither: that is their ``act.line_reviewed``."""
    holding: list[int] = []
    changes: dict[int, list[dict]] = {}
    for row in rows:
        holds = exclusion_holds(row, row.decided_codes, row.basis)
        was_excluded = row.was_rule == "review_excluded"
        if holds:
            holding.append(row.id)
        before = _Line(row.id, row.iin, row.grade, row.full_name, row.days_attended, row.was_registry_name,
                       row.was_paid_days, row.was_review_codes)
        if holds and not was_excluded and not decision_holds(before, row.decided_codes, row.basis):
            change = "restored"
        elif not holds and was_excluded:
            change = "lapsed"
        else:
            continue
        changes.setdefault(row.act_id, []).append(
            {"line_no": row.line_no, "change": change, "codes": row.decided_codes, "basis": row.basis,
             "now": "review_excluded" if holds else ("needs_review" if row.review_codes else "accepted")})
    return holding, changes


@dataclass
class _Line:
    """A line's values for :func:`values_basis` (as last written, before a verification pass)."""
    id: int
    iin: str
    grade: int
    full_name: str
    days_attended: int
    registry_name: str | None
    paid_days: int | None
    review_codes: str | None


def exclusion_events(chain: str, act_id: int, changes: list[dict]) -> list[dict]:
    """The audit events of what a verification changed about the act's exclusions after review
    (:func:`exclusion_changes`): one per kind of change, naming the lines — for ``record_events``. The system's
    (``actor_id`` None): NEDB's values changed, no person decided."""
    events = []
    for change, action in (("lapsed", "act.review_exclusion_lapsed"), ("restored", "act.review_exclusion_restored")):
        lines = [{k: v for k, v in c.items() if k != "change"} for c in changes if c["change"] == change]
        if lines:
            events.append({"chain": chain, "action": action, "object_type": "act", "object_id": act_id,
                           "actor_id": None, "details": {"lines": lines}})
    return events


_FLAGGED = (ActLine.id, ActLine.act_id, ActLine.review_codes, ActLine.full_name, ActLine.registry_name, ActLine.iin,
            ActLine.grade, ActLine.days_attended, ActLine.paid_days, ActLineReview.codes.label("decided_codes"),
            ActLineReview.basis.label("basis"))


def _undecided(*act_ids: int) -> list:
    """Lines of the acts with review codes and no decision that holds for them (:func:`decision_holds`): few rows (the
    flagged lines), compared here — the fingerprint is computed in Python, the same on every database."""
    rows = db.session.execute(select(*_FLAGGED).outerjoin(ActLineReview, ActLineReview.line_id == ActLine.id)
                              .where(ActLine.act_id.in_(act_ids), ActLine.review_codes.is_not(None))).all()
    return [row for row in rows if not decision_holds(row, row.decided_codes, row.basis)]


def acts_awaiting_review(act_ids) -> set[int]:
    """Of these acts, those with a line whose review is not yet decided (they cannot be accepted in bulk)."""
    ids = list(act_ids)
    if not ids:
        return set()
    return {row.act_id for row in _undecided(*ids)}


def undecided_line_ids(act: Act) -> set[int]:
    """The act's lines whose review is not yet decided: shown as needing review, not as accepted."""
    return {row.id for row in _undecided(act.id)}


def undecided_count(act: Act) -> int:
    return len(_undecided(act.id))


def ensure_reviews_resolved(act: Act) -> None:
    """Refuse to accept an act while a line still needs review (called by the accept step)."""
    n = undecided_count(act)
    if n:
        raise DomainRefused(_("Lines that need review: %(n)s. Decide each before accepting the act.", n=n))


@dataclass
class ReviewRow:
    line: ActLine
    codes: list[str]
    decision: ActLineReview | None
    birth_date: date | None
    age: int | None
    #: The decision was made on other checks or values than the line's now (a re-verification): it is shown, and
    #: the line needs a decision again.
    stale: bool = False
    #: An exclusion made on values NEDB no longer has, on a line that now passes every check: it no longer counts,
    #: and the line is paid (:func:`exclusion_holds`). Shown so the official sees what became of their decision.
    lapsed: bool = False


def review_rows(act: Act, limit: int = 500) -> list[ReviewRow]:
    """Lines flagged for review (decided or not) with both values: the act's and the registry's."""
    lines = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.review_codes.is_not(None))
                               .order_by(ActLine.line_no).limit(limit)).all()
    excluded = db.session.scalars(select(ActLine).join(ActLineReview, ActLineReview.line_id == ActLine.id)
                                  .where(ActLine.act_id == act.id, ActLine.rule_code == "review_excluded")
                                  .order_by(ActLine.line_no).limit(limit)).all()
    # Excluded by the official, paid now: the exclusion was made on values NEDB no longer has.
    lapsed = db.session.scalars(select(ActLine).join(ActLineReview, ActLineReview.line_id == ActLine.id)
                                .where(ActLine.act_id == act.id, ActLineReview.decision == "exclude",
                                       ActLine.outcome == "accepted", ActLine.review_codes.is_(None))
                                .order_by(ActLine.line_no).limit(limit)).all()
    decisions = {r.line_id: r for r in db.session.scalars(select(ActLineReview).where(ActLineReview.act_id == act.id))}
    start_year = act.period.year if act.period.month >= 9 else act.period.year - 1
    rows = []
    for line in sorted({ln.id: ln for ln in (*lines, *excluded, *lapsed)}.values(), key=lambda ln: ln.line_no):
        born = iin_birth_date(line.iin)
        codes = [c for c in (line.review_codes or decisions[line.id].codes).split(",") if c in REVIEW_CHECKS]
        decision = decisions.get(line.id)
        # The checks or their values changed since (a re-verification): the old decision is shown, decide again.
        stale = (decision is not None and line.review_codes is not None
                 and not decision_holds(line, decision.codes, decision.basis))
        rows.append(ReviewRow(line, codes, decision, born, age_on(born, date(start_year, 9, 1)) if born else None,
                              stale, lapsed=line.review_codes is None and line.rule_code is None))
    return rows


def may_decide(user, act: Act) -> bool:
    return (user.is_authenticated and user.role == Role.DEPARTMENT_OFFICIAL and user.region_id == act.region_id
            and act.status == "verified")


def decide_line(act: Act, line_id: int, decision: str, comment: str | None, actor,
                seen: int | None = None) -> ActLineReview:
    """Record the official's decision on one flagged line (audited); an exclusion is applied at once by
    verifying the act again — the whole verification (app.acts.operations.verify): its lines, the corrections of
    earlier months it settles, and the ``act.verified`` event with the new amount. The lines alone would have left
    the act's amount without its claw-backs, and the claw-backs counted as settled."""
    from app.acts.operations import verify

    if act.status != "verified":
        raise DomainRefused(_("Lines can be reviewed only while the act waits for the department's decision."))
    if seen is not None and seen != act.lock_version:
        # A colleague decided a line (or the act was verified again) since this decision's page was read: its
        # decision would silently replace theirs, reason and all.
        raise ConflictError(_("The act has changed since you opened it (a colleague decided a line, or it was "
                              "verified again): nothing was saved. Review its current state and decide again."))
    if decision not in REVIEW_DECISIONS:
        raise DomainRefused(_("Choose whether to keep or exclude the line."))
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise DomainRefused(_("A comment can be at most %(n)s characters.", n=MAX_COMMENT))
    if comment and direction_controls(comment):  # the school reads why its line was excluded
        raise DomainRefused(direction_controls_refused())
    if decision == "exclude" and not comment:
        raise DomainRefused(_("Say why the line is excluded."))
    line = db.session.get(ActLine, line_id)
    existing = db.session.scalars(select(ActLineReview).where(ActLineReview.line_id == line_id)).first()
    # A line with no check failing needs no decision — one the official excluded excepted (it may be kept). An
    # exclusion that lapsed on a line that now passes every check cannot be made again: the check it was about passes.
    if (line is None or line.act_id != act.id
            or (not line.review_codes and (existing is None or line.rule_code != "review_excluded"))):
        raise DomainRefused(_("This line does not need review."))
    codes = line.review_codes or existing.codes
    # The values the official's page showed (the line as last verified); the verification below may bring others,
    # and then the line needs review again. A line excluded after review shows the values its exclusion holds for
    # (it holds only for those, :func:`exclusion_holds`) — not its excluded state, which has no days paid.
    basis = values_basis(line, codes) if line.review_codes else existing.basis
    review = existing or ActLineReview(act_id=act.id, line_id=line.id)
    review.codes, review.basis, review.decision, review.comment = codes, basis, decision, comment
    review.decided_by_id, review.decided_at = actor.id, clock.now()
    db.session.add(review)
    db.session.flush()
    record_event(f"instance:{act.instance_id}" if act.instance_id else f"act:{act.id}", "act.line_reviewed", "act",
                 act.id, actor_id=actor.id, details={"line_no": line.line_no, "codes": codes, "basis": basis,
                                                     "decision": decision, "comment": comment or ""})
    verify(act, actor)
    return review


@bp.route("/acts/<int:act_id>/lines/<int:line_id>/review", methods=["POST"])
@login_required
def review_line(act_id: int, line_id: int):
    act = get_visible_or_404(Act, act_id)
    if not may_decide(current_user, act):
        abort(403)
    target = request.form.get("next")
    local = is_local_path(target)  # only a path on this site: no open redirect
    parts = urlsplit(target if local else url_for("acts.show", act_id=act_id))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "review_comment"]
    decision = request.form.get("decision", "")
    if decision == "exclude" and not (request.form.get("comment") or "").strip():
        # Said at the line's own comment box (marked invalid, the page's focus on it), not in a banner at the top.
        return redirect(urlunsplit(parts._replace(query=urlencode([*query, ("review_comment", str(line_id))]),
                                                  fragment=f"review-line-{line_id}")), 303)
    try:
        decide_line(act, line_id, decision, request.form.get("comment"), current_user,
                    seen=ascii_int(request.form.get("seen")))
    except (DomainRefused, ConflictError) as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("Decision recorded."), "success")
    return redirect(urlunsplit(parts._replace(query=urlencode(query),
                                              fragment=parts.fragment if local else "review-lines")), 303)


@bp.app_template_global()
def act_review(act: Act) -> dict:
    """The needs-review rows of an act for the report partial (acts/_review.html)."""
    return {"rows": review_rows(act), "undecided": undecided_count(act), "may_decide": may_decide(current_user, act),
            "checks": REVIEW_CHECKS}


@bp.app_template_filter("review_check_title")
def review_check_title(code: str):
    """The title of a review check (``name``, ``age``, ``days``) in the user's language; an unknown code as it is."""
    return REVIEW_CHECKS[code][0] if code in REVIEW_CHECKS else code
