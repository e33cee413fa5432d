"""Service operators of the dormitory instrument's processes (registered when the app starts)."""

from __future__ import annotations

import app.dormitories.instrument  # noqa: F401 - registers the instrument
from app.contracts.models import Contract
from app.dormitories import operations
from app.engine.operators import operator
from app.extensions import db


@operator("dormitories/put_in_force", params={"contract_id": int, "regions": list, "amounts": list, "region_code": str})
def put_in_force(ctx, contract_id: int, regions: list, amounts: list, region_code: str) -> dict:
    """Fix the contract's monthly rate per place from the rates table: the last row for the dormitory's region,
    else the last row for every region ("*")."""
    contract = db.session.get(Contract, contract_id)
    if contract is None or ctx.instance.subject_type != "contract" or ctx.instance.subject_id != contract.id:
        raise LookupError(f"Contract {contract_id} does not belong to this process instance")
    rows = list(zip(regions, amounts, strict=True))
    chosen = [a for r, a in rows if r == region_code] or [a for r, a in rows if r == "*"]
    if not chosen:
        raise ValueError(f"The rates table has no rate for region {region_code}")
    operations.put_in_force(contract, int(chosen[-1]))
    return {"place_rate_tiyn": int(chosen[-1]), "status": contract.status}
