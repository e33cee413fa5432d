"""Contracts generated from an allocation: the printable document, signatures, the monthly-act loop.

How the state-order lifecycle hangs together (each a BPMN model in ``bpmn/``, one instance row each):

* ``state_order`` — the department official places the order (``/orders/new``); the *Determine per-student
  norms* business-rule task reads ``student_norms.dmn`` (process owners edit it), the window opens, and a
  timer closes it.
* ``application`` — the school accountant presses *Apply*; *Submit application* (window-close boundary timer
  expires a draft), *Eligibility check* against the registries (``app/applications/registry_lookup.py``),
  ineligible → end with reasons; eligible → *Review and allocate places* → *Generate contract*.
* ``contract`` — *Sign* by the school director, then the department head (password re-entered, SHA-256 of
  the printable document in the audit trail) → active → a timer loop opens each month's act after the month
  ends (``contracts/open_act``), then starts ``year_end``.
* ``monthly_act`` — as in the foundation, plus the acceptance SLA: a non-interrupting boundary timer on
  *Accept act* notifies the department head (``acts/escalate`` in :mod:`app.contracts.sla`).
* ``year_end`` — the school submits the report (per-month totals prefilled), the head approves, the
  contract closes.

Acts under a contract are verified against its terms (``app/acts/terms.py`` provider in ``handlers.py``) and
paid within its caps (a payment check registered with ``app/payments/operations.py``).
"""
