"""The account an act is paid to.

The department accepts an act *with its payee*: :func:`app.acts.operations.decide` pins the account named now
(:func:`account_on_record`) on the act (``Act.payee_iban``) and in the acceptance event's facts, and the payment pays
that account. Read at payment time instead, an edit of the school's IBAN between acceptance and payment (by an
admin, or by anyone who can write to the database) sent the money elsewhere, and ``verify-audit`` could not see it
for an act with no contract IBAN.
"""

from __future__ import annotations

from collections.abc import Callable

#: Providers answering the account an act is paid to under terms of their own (a contract's signed IBAN), or None;
#: the organisation's IBAN when none answers. Registered by the packages that know them (app.contracts.handlers).
PAYEE_ACCOUNTS: list[Callable] = []


def register_payee_account(provider: Callable) -> Callable:
    PAYEE_ACCOUNTS.append(provider)
    return provider


#: Providers answering who changed an act's account under terms of their own (a contract's, by an agreement) to the
#: IBAN given, and when — ``(actor id, at)`` — or None; registered by the packages that know them, as
#: :data:`PAYEE_ACCOUNTS` (app.contracts.handlers). None answers: the organisation's audit trail says who.
ACCOUNT_CHANGES: list[Callable] = []


def register_account_change(provider: Callable) -> Callable:
    ACCOUNT_CHANGES.append(provider)
    return provider


def account_changed_under_terms(act_id: int, iban: str):
    """``(actor id, at)`` of the last change of the act's account to ``iban`` under its terms, or None."""
    for provider in ACCOUNT_CHANGES:
        found = provider(act_id, iban)
        if found is not None:
            return found
    return None


def account_on_record(act) -> str | None:
    """The account the records name for the act now: the one its contract names (signed by both parties), else the
    organisation's. What the department pins at acceptance; afterwards only a comparison with the pinned one."""
    for provider in PAYEE_ACCOUNTS:
        iban = provider(act)
        if iban:
            return iban
    return act.school.iban


def payee_of(act) -> str | None:
    """The account the act is paid to: the one pinned at its acceptance, or — for an act accepted before payees were
    pinned (``payee_iban`` is NULL) — the account on record at payment, as such acts were always paid."""
    return act.payee_iban or account_on_record(act)
