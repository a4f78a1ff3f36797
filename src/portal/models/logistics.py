"""Smart logistics (智慧物流): drivers, vehicles, products, entry reports, bookings, documents, lanes.

Quantities are integer kilograms everywhere; pages show tonnes.
"""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .identity import WeChatUser
from .meta import BigId, Base, UTCDateTime, utcnow
from .sync import Synced


class Driver(Synced, Base):
    """人员信息: one profile per WeChat user, synced to LE (upsert by our id)."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    id_card_no: Mapped[str] = mapped_column(String(18), index=True)
    mobile: Mapped[str] = mapped_column(String(11))
    licence_no: Mapped[str] = mapped_column(String(32))
    qualification_no: Mapped[str] = mapped_column(String(32))
    qualification_expires_on: Mapped[date] = mapped_column(Date)
    escort_name: Mapped[str | None] = mapped_column(String(32))
    escort_id_card_no: Mapped[str | None] = mapped_column(String(18))
    escort_qualification_no: Mapped[str | None] = mapped_column(String(32))
    escort_qualification_expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[WeChatUser] = relationship()
    vehicles: Mapped[list["Vehicle"]] = relationship(back_populates="driver", order_by="Vehicle.id")


class Vehicle(Synced, Base):
    """车辆信息: tractor and tank trailer, with what the tank may carry."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("driver_id", "plate_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    plate_no: Mapped[str] = mapped_column(String(16), index=True)
    trailer_no: Mapped[str] = mapped_column(String(16))
    tank_capacity_kg: Mapped[int] = mapped_column(Integer)
    #: 适装介质: product codes this tank is approved for.
    approved_products: Mapped[list] = mapped_column(JSON)
    transport_permit_no: Mapped[str] = mapped_column(String(64))
    tank_inspection_expires_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    driver: Mapped[Driver] = relationship(back_populates="vehicles")


class Product(Base):
    """A product drivers book (品名), with its stock rules."""

    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    #: Stock that must remain after a booking; below it pickups are refused (存量阈值).
    threshold_kg: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Minutes after the planned arrival a booking stays valid; null = the global default.
    reservation_minutes: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    #: The last stock figure the MES gave (all tank areas), for pages.
    stock_kg: Mapped[int | None] = mapped_column(BigInteger)
    stock_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntryReport(Synced, Base):
    """车辆入场报备: a vehicle's first-time report before it comes to the plant."""

    __tablename__ = "entry_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    expected_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    vehicle: Mapped[Vehicle] = relationship()


class BookingKind(enum.Enum):
    pickup = "pickup"  # 提货
    delivery = "delivery"  # 送货


class BookingStatus(enum.Enum):
    checking = "checking"  # 核对库存中
    registered = "registered"  # 已登记 (stock reserved for a pickup)
    rejected = "rejected"
    entered = "entered"
    loading = "loading"
    loaded = "loaded"
    completed = "completed"  # exited the plant
    cancelled = "cancelled"
    expired = "expired"  # 退卡: not entered within the reservation window


BOOKING_STATUS_LABELS = {
    BookingStatus.checking: "核对库存中",
    BookingStatus.registered: "已登记",
    BookingStatus.rejected: "登记被拒",
    BookingStatus.entered: "已入厂",
    BookingStatus.loading: "装车中",
    BookingStatus.loaded: "已装车",
    BookingStatus.completed: "已出厂",
    BookingStatus.cancelled: "已取消",
    BookingStatus.expired: "已退卡",
}
#: Statuses that hold stock for a pickup booking.
RESERVING = (BookingStatus.registered, BookingStatus.entered, BookingStatus.loading)
#: The forward order of a visit; LE events never move a booking backwards along it.
VISIT_ORDER = [BookingStatus.registered, BookingStatus.entered, BookingStatus.loading, BookingStatus.loaded, BookingStatus.completed]


class Booking(Synced, Base):
    """提送货登记. The Synced state says whether LE knows the booking's latest state."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_driver_id_id", "driver_id", "id"),
        # The admin list filtered by status, newest first, a page at a time (keyset on id).
        Index("ix_bookings_status_id", "status", "id"),
        # The reservation sum per product, and the expiry sweep.
        Index("ix_bookings_product_code_status", "product_code", "status"),
        Index("ix_bookings_expires_at", "expires_at", postgresql_where=text("status = 'registered'"), sqlite_where=text("status = 'registered'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    kind: Mapped[BookingKind] = mapped_column(Enum(BookingKind, native_enum=False, length=16))
    quantity_kg: Mapped[int] = mapped_column(Integer)
    planned_arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[BookingStatus] = mapped_column(Enum(BookingStatus, native_enum=False, length=16))
    #: Why it was rejected, cancelled or expired, in Chinese.
    reason: Mapped[str | None] = mapped_column(Text)
    reserved_kg: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What LE has been told: none / registered / cancelled.
    le_state: Mapped[str] = mapped_column(String(16), default="none")
    actual_quantity_kg: Mapped[int | None] = mapped_column(Integer)
    lane_code: Mapped[str | None] = mapped_column(String(16))
    queue_position: Mapped[int | None] = mapped_column(Integer)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    driver: Mapped[Driver] = relationship()
    vehicle: Mapped[Vehicle] = relationship()
    product: Mapped[Product] = relationship()
    events: Mapped[list["BookingEvent"]] = relationship(order_by="BookingEvent.id", back_populates="booking")
    stock_checks: Mapped[list["StockCheck"]] = relationship(order_by="StockCheck.id", back_populates="booking")

    @property
    def status_label(self):
        return BOOKING_STATUS_LABELS[self.status]

    @property
    def kind_label(self):
        return "提货" if self.kind is BookingKind.pickup else "送货"


class BookingEvent(Base):
    """One line of a booking's timeline."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)

    booking: Mapped[Booking] = relationship(back_populates="events")


class StockCheck(Synced, Base):
    """One question to the MES about a booking's product, with the figures of the answer."""

    __tablename__ = "stock_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stock_kg: Mapped[int | None] = mapped_column(BigInteger)
    reserved_kg: Mapped[int | None] = mapped_column(BigInteger)
    threshold_kg: Mapped[int | None] = mapped_column(BigInteger)
    accepted: Mapped[bool | None] = mapped_column()

    booking: Mapped[Booking] = relationship(back_populates="stock_checks")


class OutboundOrder(Synced, Base):
    """销售出库单 / 提货单 as LE reports it; the Synced state follows the sign-off push."""

    __tablename__ = "outbound_orders"
    __table_args__ = (Index("ix_outbound_orders_driver_id_created_at", "driver_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    product_code: Mapped[str] = mapped_column(String(32))
    planned_quantity_kg: Mapped[int] = mapped_column(Integer)
    actual_quantity_kg: Mapped[int | None] = mapped_column(Integer)
    #: created → shipped (LE) → signed (the driver's sign-off)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_quantity_kg: Mapped[int | None] = mapped_column(Integer)
    signed_note: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_label(self):
        return {"created": "已开单", "shipped": "已发货", "signed": "已签收"}.get(self.status, self.status)


class Lane(Base):
    """装车道, as LE reports it."""

    __tablename__ = "lanes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    loading_count: Mapped[int] = mapped_column(Integer, default=0)
    waiting_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def status_label(self):
        return {"idle": "空闲", "loading": "装车中", "maintenance": "检修", "closed": "关闭"}.get(self.status, self.status)


class LeEvent(Base):
    """Every event LE sent us, once: the event id is the deduplication key."""

    __tablename__ = "le_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data: Mapped[dict] = mapped_column(JSON)
    result: Mapped[str] = mapped_column(String(16))
