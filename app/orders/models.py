from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.people.models import Region

LEVELS = ("primary", "basic", "secondary")
LOCALITIES = ("urban", "rural")
ORDER_STATUSES = ("placed", "open", "closed")


class StateOrder(db.Model):
    """One region's state educational order for one academic year. Money in tiyn (1 ₸ = 100 tiyn)."""

    __tablename__ = "state_order"
    __table_args__ = (
        UniqueConstraint("region_id", "academic_year", "instrument", name="uq_state_order_region_year_instrument"),
        CheckConstraint("budget_tiyn > 0", name="budget_positive"),
        CheckConstraint("window_opens <= window_closes", name="window_order"),
        CheckConstraint("period_start < period_end", name="period_order"),
        CheckConstraint("status IN ('placed','open','closed')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instrument: Mapped[str] = mapped_column(String(16), default="schools", server_default="schools")
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    academic_year: Mapped[str] = mapped_column(String(9))  # 2026/2027
    budget_tiyn: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[date] = mapped_column(Date)  # first month of the contracts (September)
    period_end: Mapped[date] = mapped_column(Date)  # last day of the last month (31 May)
    window_opens: Mapped[date] = mapped_column(Date)
    window_closes: Mapped[date] = mapped_column(Date)  # last day applications are accepted
    status: Mapped[str] = mapped_column(String(16), default="placed")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    region: Mapped[Region] = relationship()
    norms: Mapped[list[OrderNorm]] = relationship(back_populates="order", order_by="OrderNorm.id",
                                                  cascade="all, delete-orphan")

    def norm(self, level: str, locality: str) -> int:
        for n in self.norms:
            if n.level == level and n.locality == locality:
                return n.monthly_tiyn
        return 0

    def window_is_open(self, day: date) -> bool:
        return self.status == "open" and self.window_opens <= day <= self.window_closes

    @property
    def months(self) -> int:
        start, end = self.period_start, self.period_end
        return (end.year - start.year) * 12 + end.month - start.month + 1


class OrderNorm(db.Model):
    """Monthly per-student norm by level and locality, taken from the norms decision table when placed."""

    __tablename__ = "order_norm"
    __table_args__ = (
        UniqueConstraint("order_id", "level", "locality", name="uq_order_norm_level_locality"),
        CheckConstraint("level IN ('primary','basic','secondary')", name="level"),
        CheckConstraint("locality IN ('urban','rural')", name="locality"),
        CheckConstraint("monthly_tiyn > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    locality: Mapped[str] = mapped_column(String(8))
    monthly_tiyn: Mapped[int] = mapped_column(BigInteger)
    order: Mapped[StateOrder] = relationship(back_populates="norms")
