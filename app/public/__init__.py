"""The public portal: where the state order's money goes, for anyone, without a login.

Aggregate only (DESIGN.md: public data): no IIN, no child's name, and any count of children under
:data:`app.public.figures.SMALL_CELL` is suppressed. Pages read the ``public_school_month`` table, which the
background pass rebuilds from the audited operations' tables (acts, lines, payments) — never typed in.
"""
