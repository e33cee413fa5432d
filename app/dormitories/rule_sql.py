"""The statements of the dormitories' set-based rule pass (:mod:`app.dormitories.verification` runs them in order):
its working tables, the staging of the places, the other dormitories' claims, the one rule statement, the day-by-day
count, and the rankings of duplicate copies and shared beds. Each rule is documented where its SQL decides it."""

from __future__ import annotations

from sqlalchemy import Connection, text

from app.acts.verification import _days_sql, _fence, _iin_invalid_sql
from app.dormitories.rules import DORM_LEVEL_RULES

GENERAL = "*"  # rule placeholder of a line paid by the day-by-day count (step 4 of the pass)
#: a place occupied this month only from the dormitory's liquidation day on (``{v}``: the act's row, with
#: ``liquidated_on``; ``{d}``: the place's, with its ``first_day``): no day of it is paid whatever the documents say
_LIQUIDATED = "({v}.liquidated_on IS NOT NULL AND {d}.first_day >= {v}.liquidated_on)"


def create_tables(conn: Connection) -> None:
    """The dormitories' own working tables, beside the shared ``tmp_vline`` (kept by the connection, emptied after
    every pass, like the schools' ``tmp_vact``).

    ``tmp_dact``: one row per act — its dormitory-level rule, month, terms and the first and last day both
    documents are valid (``doc_run`` = 1: every day between is valid too; none from ``liquidated_on`` on).
    ``tmp_dplace``: one row per line with its occupied days of the month, keyed (act, room, bed, line) so the beds'
    groups read it in order.
    ``tmp_dtwin``: the places another dormitory claims on a common day. ``tmp_dday``: the days of the months that
    need the day-by-day count, with whether the documents are valid."""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dact (act_id INTEGER PRIMARY KEY, "
                      "dormitory_id INTEGER NOT NULL, dorm_bin VARCHAR(12) NOT NULL, region_code VARCHAR(16) NOT NULL, "
                      "period DATE NOT NULL, month_start DATE NOT NULL, month_end DATE NOT NULL, "
                      "month_days INTEGER NOT NULL, rate BIGINT NOT NULL, excl_local INTEGER NOT NULL, "
                      "dorm_rule VARCHAR(32), pay_from DATE, pay_to DATE, doc_run INTEGER NOT NULL, "
                      "liquidated_on DATE)"))
    rowid = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dplace (act_id INTEGER NOT NULL, id INTEGER NOT NULL, "
                      "line_no INTEGER NOT NULL, iin VARCHAR(12) NOT NULL, inst VARCHAR(12) NOT NULL, "
                      "room VARCHAR(16) NOT NULL, bed VARCHAR(16) NOT NULL, moved_in DATE NOT NULL, "
                      "first_day DATE NOT NULL, last_day DATE NOT NULL, claimed_days INTEGER NOT NULL, "
                      "pay_lo DATE, pay_hi DATE, pay_span INTEGER NOT NULL, "
                      f"PRIMARY KEY (act_id, room, bed, id)){rowid}"))
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dtwin (act_id INTEGER NOT NULL, id INTEGER NOT NULL, "
                      f"PRIMARY KEY (act_id, id)){rowid}"))
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dday (act_id INTEGER NOT NULL, day DATE NOT NULL, "
                      f"doc_ok INTEGER NOT NULL, PRIMARY KEY (act_id, day)){rowid}"))


def empty_tables(conn: Connection) -> None:
    for table in ("tmp_dday", "tmp_dtwin", "tmp_dplace", "tmp_dact"):
        conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names


class Dialect:
    """The few date expressions the two databases spell differently (SQLite keeps dates as ISO text)."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"min({a}, {b})"

    def day_before(self, day: str) -> str:
        return f"({day} - 1)" if self.pg else f"date({day}, '-1 day')"

    def span(self, first: str, last: str) -> str:
        """Days from ``first`` to ``last`` inclusive, 0 when ``last`` is before ``first``."""
        if self.pg:
            return f"GREATEST(0, {last} - {first} + 1)"
        return f"max(0, CAST(julianday({last}) - julianday({first}) AS INTEGER) + 1)"

    def last_occupied(self, moved_out: str, month_end: str) -> str:
        """The last day of the month the place is occupied (``moved_out`` is the first free day)."""
        before = self.least(month_end, self.day_before(moved_out))
        return f"CASE WHEN {moved_out} IS NULL THEN {month_end} ELSE {before} END"


def places_sql(sql: Dialect) -> str:
    """Every line of the acts in ``tmp_dact`` with its occupied days (first, last, count) and the part of them the
    documents' run of valid days covers (pay_lo … pay_hi)."""
    first = sql.greatest("p.moved_in", "v.month_start")
    last = sql.last_occupied("p.moved_out", "v.month_end")
    lo, hi = sql.greatest(first, "v.pay_from"), sql.least(last, "v.pay_to")
    return ("INSERT INTO tmp_dplace (act_id, id, line_no, iin, inst, room, bed, moved_in, first_day, last_day, "  # noqa: S608
            "claimed_days, pay_lo, pay_hi, pay_span) "
            f"SELECT l.act_id, l.id, l.line_no, l.iin, p.institution_bin, p.room, p.bed, p.moved_in, {first}, {last}, "
            f"{sql.span(first, last)}, {lo}, {hi}, COALESCE({sql.span(lo, hi)}, 0) "
            "FROM tmp_dact v JOIN act_line l ON l.act_id = v.act_id JOIN dorm_place_line p ON p.line_id = l.id")


def stage_merges(conn: Connection) -> bool:
    """NEDB's merges (app.registry.merges) of the children the staged places name, into the shared ``tmp_vmerge``
    (retired IIN → surviving IIN): a child placed under two IINs is one student for ``two_dormitories`` and
    ``dorm_duplicate_line``, as for the schools' ``double_enrolment`` and ``duplicate_line`` — both IINs were paid a
    place on the same days. False: no place's child has a merge (the statements then compare IINs only)."""
    conn.execute(text("INSERT INTO tmp_vmerge (iin, person) SELECT DISTINCT m.retired_iin, m.surviving_iin "
                      "FROM nedb_iin_merge m WHERE m.surviving_iin IN (SELECT d.iin FROM tmp_dplace d "
                      "UNION SELECT r.surviving_iin FROM nedb_iin_merge r JOIN tmp_dplace d ON d.iin = r.retired_iin)"))
    return conn.execute(text("SELECT 1 FROM tmp_vmerge LIMIT 1")).first() is not None


def _child(iin: str) -> str:
    """The child an IIN names: the surviving IIN of a merge staged in ``tmp_vmerge``, else the IIN itself."""
    return f"COALESCE((SELECT mm.person FROM tmp_vmerge mm WHERE mm.iin = {iin}), {iin})"  # noqa: S608


def _same_child(other: str, iin: str, merged: bool) -> str:
    """``other`` (an indexed IIN column) is an IIN of the child ``iin`` names: the IIN itself, or with merges its
    surviving IIN and every IIN retired into it (an IN list, so the index on ``other`` is still probed)."""
    if not merged:
        return f"{other} = {iin}"
    return (f"{other} IN (SELECT {iin} UNION SELECT {_child(iin)} "  # noqa: S608
            f"UNION SELECT mm.iin FROM tmp_vmerge mm WHERE mm.person = {_child(iin)})")


def twins_sql(sql: Dialect, instrument: str, merged: bool = False) -> str:
    """two_dormitories, the facts: the staged places whose student another dormitory's act of the same month
    places there on a common day (any status of that act: the claim stands until it or the registry is
    corrected). One statement over the places, so the database may join them to the month's lines as it sees
    fit; the rule statement looks the few found up at the rule's rank."""
    other_first = sql.greatest("op.moved_in", "v.month_start")
    other_last = sql.last_occupied("op.moved_out", "v.month_end")
    return ("INSERT INTO tmp_dtwin (act_id, id) SELECT d.act_id, d.id FROM tmp_dplace d "  # noqa: S608
            "JOIN tmp_dact v ON v.act_id = d.act_id WHERE v.dorm_rule IS NULL AND EXISTS (SELECT 1 FROM act_line o "
            "JOIN act a ON a.id = o.act_id JOIN dorm_place_line op ON op.line_id = o.id "
            f"WHERE {_same_child('o.iin', 'd.iin', merged)} AND o.period = v.period "
            f"AND o.school_id <> v.dormitory_id AND a.instrument = '{instrument}' "
            f"AND {other_first} <= d.last_day AND d.first_day <= {other_last})")


def rules_sql(sql: Dialect, dialect: str, students: str, merged: bool = False) -> str:
    """ONE statement: every staged place with its rule, paid days and amount, into ``tmp_vline``.

    Each place is joined to its student's enrolments (every institution: the registry's ``iin`` index; ``merged``:
    under every IIN NEDB merged with the child's, :func:`stage_merges` — the student registry is not NEDB and may list
    the child under the surviving IIN only, and a place claimed under the retired IIN was ``student_not_found``) and
    grouped per line; the counts decide the rules in the precedence of ``DORM_RULES``. An enrolment *here* is
    one at the named institution active on a day the place is occupied (a withdrawal is the first day not
    enrolled); paid days are the days of the documents' run that the place and a full-time enrolment here
    share — exact from one such enrolment; a line with several, or a month whose documents leave a gap, gets the
    placeholder and is counted day by day (:func:`day_by_day_sql`). The same count for one line, in Python:
    :func:`app.dormitories.verification.place_days` (the adjustments price decided lines with it)."""
    here = ("e.institution_bin = d.inst AND e.enrolled_on <= d.last_day "
            "AND (e.withdrawn_on IS NULL OR e.withdrawn_on > d.first_day)")
    full_time = f"{here} AND e.study_form = 'full_time'"
    facts = (
        "SELECT d.act_id, d.id, d.iin, d.room, d.bed, d.moved_in, d.first_day, d.last_day, d.claimed_days, "  # noqa: S608
        "v.dormitory_id, v.dorm_bin, v.period, v.month_start, v.month_end, v.month_days, v.rate, v.excl_local, "
        "v.dorm_rule, v.doc_run, v.liquidated_on, COUNT(e.iin) AS n_any, "
        f"SUM(CASE WHEN {here} THEN 1 ELSE 0 END) AS n_here, "
        f"SUM(CASE WHEN {full_time} THEN 1 ELSE 0 END) AS n_full, "
        f"SUM(CASE WHEN {full_time} AND e.home_region = v.region_code THEN 1 ELSE 0 END) AS n_local, "
        f"SUM(CASE WHEN {full_time} THEN {_days_sql(dialect, 'd.first_day', 'd.last_day', 'd.claimed_days')} "
        "ELSE 0 END) AS enrolled, "
        f"SUM(CASE WHEN {full_time} THEN {_days_sql(dialect, 'd.pay_lo', 'd.pay_hi', 'd.pay_span')} "
        "ELSE 0 END) AS paid "
        f"FROM tmp_dplace d JOIN tmp_dact v ON v.act_id = d.act_id LEFT JOIN {students} e "
        f"ON {_same_child('e.iin', 'd.iin', merged)} "
        # grouped in the working table's key order: no sort of the month's lines
        f"AND v.dorm_rule IS NULL GROUP BY d.act_id, d.room, d.bed, d.id{', v.act_id' if sql.pg else ''}"
        f"{_fence(dialect)}")
    ruled = (
        "SELECT g.*, CASE "  # noqa: S608
        # dorm_no_documents, dorm_documents_expired: decided per act (dormitory_contexts), every line.
        "WHEN g.dorm_rule IS NOT NULL THEN g.dorm_rule "
        # iin_checksum: an IIN the student registry does not know and whose check digit is wrong (a typing
        # error, not a missing student); student_not_found: a well-formed IIN no institution has.
        f"WHEN g.n_any = 0 THEN CASE WHEN {_iin_invalid_sql(dialect, 'g.iin')} THEN 'iin_checksum' "
        "ELSE 'student_not_found' END "
        # not_enrolled: no enrolment at the named institution on any day the place is occupied this month
        # (another institution, withdrawn before, enrolled after).
        "WHEN g.n_here = 0 THEN 'not_enrolled' "
        # not_full_time: enrolled there, but part-time or by distance learning only.
        "WHEN g.n_full = 0 THEN 'not_full_time' "
        # local_resident: a full-time enrolment there gives an address in the dormitory's region, and the
        # contract's order excludes local residents.
        "WHEN g.excl_local = 1 AND g.n_local > 0 THEN 'local_resident' "
        # bed_unknown: the room and bed are not in the dormitory's list of beds (its building passport).
        "WHEN NOT EXISTS (SELECT 1 FROM dormitory_bed b WHERE b.dormitory_bin = g.dorm_bin AND b.room = g.room "
        "AND b.bed = g.bed) THEN 'bed_unknown' "
        # two_dormitories: another dormitory's act of the month places the student on a common day (the lines
        # found by twins_sql).
        "WHEN (g.act_id, g.id) IN (SELECT act_id, id FROM tmp_dtwin) THEN 'two_dormitories' "
        f"WHEN g.n_full > 1 OR g.doc_run = 0 THEN '{GENERAL}' "
        # Occupied and enrolled, but no common day with the documents' validity (dorm_documents_expired; occupied
        # only from the dormitory's liquidation on: dorm_liquidated) or with the enrolment (not_enrolled: only a
        # line with no occupied day could get here).
        "WHEN g.paid = 0 THEN CASE WHEN g.enrolled = 0 THEN 'not_enrolled' "
        f"WHEN {_LIQUIDATED.format(v='g', d='g')} THEN 'dorm_liquidated' ELSE 'dorm_documents_expired' END "
        f"END AS rule FROM ({facts}) g{_fence(dialect)}")
    return ("INSERT INTO tmp_vline (act_id, id, iin, rule, norm, amount, paid_days, review, registry_name, "  # noqa: S608
            "here_since) SELECT act_id, id, iin, rule, rate * claimed_days / month_days, "
            "CASE WHEN rule IS NULL THEN rate * paid / month_days ELSE 0 END, "
            f"CASE WHEN rule IS NULL THEN paid END, NULL, NULL, moved_in FROM ({ruled}) r")


def day_by_day_sql(students: str, merged: bool = False) -> str:
    """The placeholder lines, paid the days (of ``tmp_dday``) the place is occupied, a full-time enrolment at the
    institution runs and — for paid days — both documents are valid: the union of several enrolments (``merged``:
    under any of the child's IINs, as :func:`rules_sql`) counted once, and documents with a gap inside the month
    paying only their days."""
    enrolled_on = (f"EXISTS (SELECT 1 FROM {students} e WHERE {_same_child('e.iin', 'd.iin', merged)} "  # noqa: S608
                   "AND e.institution_bin = d.inst "
                   "AND e.study_form = 'full_time' AND e.enrolled_on <= t.day "
                   "AND (e.withdrawn_on IS NULL OR e.withdrawn_on > t.day))")
    counted = (f"SELECT x.act_id, x.id, v.rate, v.month_days, {_LIQUIDATED.format(v='v', d='d')} AS liquidated, "  # noqa: S608
               "(SELECT COUNT(*) FROM tmp_dday t WHERE t.act_id = d.act_id AND t.day >= d.first_day "
               f"AND t.day <= d.last_day AND {enrolled_on}) AS enrolled, "
               "(SELECT COUNT(*) FROM tmp_dday t WHERE t.act_id = d.act_id AND t.day >= d.first_day "
               f"AND t.day <= d.last_day AND t.doc_ok = 1 AND {enrolled_on}) AS paid "
               "FROM tmp_vline x JOIN tmp_dplace d ON d.act_id = x.act_id AND d.id = x.id "
               f"JOIN tmp_dact v ON v.act_id = x.act_id WHERE x.rule = '{GENERAL}'")
    return ("UPDATE tmp_vline SET rule = y.rule, amount = y.amount, paid_days = y.paid_days FROM ("  # noqa: S608
            "SELECT act_id, id, CASE WHEN paid > 0 THEN NULL WHEN enrolled = 0 THEN 'not_enrolled' "
            "WHEN liquidated THEN 'dorm_liquidated' ELSE 'dorm_documents_expired' END AS rule, "
            "CASE WHEN paid > 0 THEN rate * paid / month_days ELSE 0 END "
            f"AS amount, CASE WHEN paid > 0 THEN paid END AS paid_days FROM ({counted}) c) y "
            "WHERE tmp_vline.act_id = y.act_id AND tmp_vline.id = y.id")


# dorm_duplicate_line: copies of a student in one act on a common day hold one place. Of such copies, the one kept is
# the copy no other rule excludes (wrong institution, bed, dates …) and only then the lower line number — the
# dormitory's order of lines cannot make a wrong copy win; a copy whose days meet a copy ranked before it is excluded.
# Lines of one student whose days do not meet are a move to another room within the month, each paid its own days
# (the second line of a move was excluded, and the place went unpaid from the move to the month's end). The IINs an
# act lists twice come from one ordered scan of the (act_id, iin) index; only their lines are compared.
# Dormitory-level rules and iin_checksum outrank it.
def duplicates_sql(merged: bool = False) -> str:
    """The copies excluded as ``dorm_duplicate_line`` (see above); ``merged``: a child's lines under IINs NEDB merged
    are copies too (:func:`stage_merges`)."""
    child = _child if merged else (lambda iin: iin)
    return (
        f"WITH dupsets AS (SELECT act_id, {child('iin')} AS iin FROM act_line WHERE act_id IN (SELECT act_id "  # noqa: S608
        f"FROM tmp_dact WHERE dorm_rule IS NULL) GROUP BY act_id, {child('iin')} HAVING COUNT(*) > 1), "
        "copies AS (SELECT x.act_id, x.id, s.iin, l.line_no, d.first_day, d.last_day, "
        "CASE WHEN x.rule IS NULL THEN 0 ELSE 1 END AS wrong "
        f"FROM dupsets s JOIN act_line l ON l.act_id = s.act_id AND {child('l.iin')} = s.iin "
        "JOIN tmp_vline x ON x.act_id = l.act_id AND x.id = l.id "
        "JOIN tmp_dplace d ON d.act_id = x.act_id AND d.id = x.id) "
        "SELECT c.act_id, c.id FROM copies c WHERE EXISTS (SELECT 1 FROM copies k WHERE k.act_id = c.act_id "
        "AND k.iin = c.iin AND k.id <> c.id AND (k.wrong < c.wrong OR (k.wrong = c.wrong AND k.line_no < c.line_no)) "
        "AND k.first_day <= c.last_day AND c.first_day <= k.last_day)")


DUPLICATES = duplicates_sql()
OUTRANK_DUPLICATE = ", ".join(f"'{code}'" for code in (*DORM_LEVEL_RULES, "iin_checksum"))

# bed_shared: of the lines still paid that place students on the same bed of an act, taken in order of their first
# occupied day (then line number), a line whose days meet a line kept before it loses the bed — the earlier
# move-in keeps it. "Kept before" makes it a walk: the recursive part carries the last day of the beds' kept
# lines. Only the beds with two lines are walked (read in the working table's key order, no sort).
SHARED_BEDS = (
    "WITH RECURSIVE beds AS (SELECT act_id, room, bed FROM tmp_dplace GROUP BY act_id, room, bed "
    "HAVING COUNT(*) > 1), "
    # (the line's rule by a probe of tmp_vline's key per line of those beds: no plan may scan it per bed)
    "paid AS (SELECT d.act_id, d.room, d.bed, d.id, d.first_day, d.last_day, d.line_no FROM beds b "
    "JOIN tmp_dplace d ON d.act_id = b.act_id AND d.room = b.room AND d.bed = b.bed "
    "WHERE (SELECT x.rule FROM tmp_vline x WHERE x.act_id = d.act_id AND x.id = d.id) IS NULL), "
    "ranked AS (SELECT act_id, room, bed, id, first_day, last_day, ROW_NUMBER() OVER ("
    "PARTITION BY act_id, room, bed ORDER BY first_day, line_no) AS n FROM paid), "
    "walk (act_id, room, bed, n, id, lost, reach) AS ("
    "SELECT act_id, room, bed, n, id, 0, last_day FROM ranked WHERE n = 1 "
    "UNION ALL SELECT r.act_id, r.room, r.bed, r.n, r.id, CASE WHEN r.first_day <= w.reach THEN 1 ELSE 0 END, "
    "CASE WHEN r.first_day > w.reach AND r.last_day > w.reach THEN r.last_day ELSE w.reach END "
    "FROM walk w JOIN ranked r ON r.act_id = w.act_id AND r.room = w.room AND r.bed = w.bed AND r.n = w.n + 1) "
    "SELECT act_id, id FROM walk WHERE lost = 1")
