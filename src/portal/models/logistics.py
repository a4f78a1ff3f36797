"""Smart logistics (智慧物流): drivers, vehicles, products, entry reports, bookings, documents, lanes.

Quantities are integer kilograms everywhere; pages show tonnes.
"""

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, attribute_keyed_dict, mapped_column, relationship

from .identity import WeChatUser
from .meta import Base, BigId, LabelledEnum, UTCDateTime, status_column, utcnow
from .sync import Synced


class Driver(Synced, Base):
    """人员信息: one profile per WeChat user, synced to LE (upsert by our id)."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    #: In normal form (portal.validation); one driver per ID number, whatever WeChat account it uses.
    id_card_no: Mapped[str] = mapped_column(String(18), index=True, unique=True)
    #: Not unique: a family or a fleet may share a phone, and carriers give numbers to new owners.
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


class BookingKind(LabelledEnum):
    pickup = "pickup", "提货"
    delivery = "delivery", "送货"


class BookingStatus(LabelledEnum):
    checking = "checking", "核对库存中"
    #: Stock reserved for a pickup; LE hands out a gate card.
    registered = "registered", "已登记"
    rejected = "rejected", "登记被拒"
    entered = "entered", "已入厂"
    loading = "loading", "装车中"
    loaded = "loaded", "已装车"
    #: The truck left the plant.
    completed = "completed", "已出厂"
    cancelled = "cancelled", "已取消"
    #: 退卡: not entered within the reservation window.
    expired = "expired", "已退卡"


class LeState(LabelledEnum):
    """What LE has been told about a booking."""

    none = "none", "未推送"
    registered = "registered", "已登记"
    cancelled = "cancelled", "已退卡"


#: Statuses that hold stock for a pickup booking.
RESERVING = (BookingStatus.registered, BookingStatus.entered, BookingStatus.loading)
#: A booking under way: waiting for the MES or holding stock. A vehicle with one cannot be removed,
#: and a truck has one per kind, product and time window.
ACTIVE = (BookingStatus.checking, *RESERVING)
#: The forward order of a visit; its status is the furthest step LE's facts reach (services/logistics/visits.py).
VISIT_ORDER = [
    BookingStatus.registered, BookingStatus.entered, BookingStatus.loading, BookingStatus.loaded, BookingStatus.completed,
]


class Booking(Synced, Base):
    """提送货登记. The Synced state says whether LE knows the booking's latest state."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_driver_id_id", "driver_id", "id"),
        # A vehicle's active bookings (the duplicate check of every new booking).
        Index("ix_bookings_vehicle_id_status", "vehicle_id", "status"),
        # The admin list filtered by status, newest first, a page at a time (keyset on id).
        Index("ix_bookings_status_id", "status", "id"),
        # The reservation sum per product, and the expiry sweep.
        Index("ix_bookings_product_code_status", "product_code", "status"),
        Index(
            "ix_bookings_expires_at", "expires_at",
            postgresql_where=text("status = 'registered'"), sqlite_where=text("status = 'registered'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    kind: Mapped[BookingKind] = mapped_column(status_column(BookingKind))
    quantity_kg: Mapped[int] = mapped_column(Integer)
    planned_arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[BookingStatus] = mapped_column(status_column(BookingStatus))
    #: Why it was rejected, cancelled or expired, in Chinese.
    reason: Mapped[str | None] = mapped_column(Text)
    reserved_kg: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    le_state: Mapped[LeState] = mapped_column(status_column(LeState), default=LeState.none)
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
    #: The lane LE called the truck to (lane_code is LE's code, not a foreign key).
    lane: Mapped["Lane | None"] = relationship(primaryjoin="foreign(Booking.lane_code) == Lane.code", viewonly=True)
    #: The timeline, in the order things happened.
    events: Mapped[list["BookingEvent"]] = relationship(
        order_by=lambda: (BookingEvent.at, BookingEvent.id), back_populates="booking"
    )
    stock_checks: Mapped[list["StockCheck"]] = relationship(order_by="StockCheck.id", back_populates="booking")
    #: What LE reported of the visit, one fact per kind; the visit's columns above are derived from them.
    facts: Mapped[dict[str, "VisitFact"]] = relationship(
        collection_class=attribute_keyed_dict("kind"), cascade="all, delete-orphan", back_populates="booking"
    )


class BookingEvent(Base):
    """One line of a booking's timeline."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    #: When it happened: our own time for our steps, LE's ``occurred_at`` for what LE reports.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When LE's report of it reached us (for operators); null for our own steps.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)

    booking: Mapped[Booking] = relationship(back_populates="events")


class VisitFactKind(LabelledEnum):
    """The kinds of fact LE reports of a truck's visit (到厂作业)."""

    entered = "entered", "入厂"
    called = "called", "叫号"
    lane = "lane", "装车道"
    loading = "loading", "开始装车"
    loaded = "loaded", "装车完成"
    quantity = "quantity", "实装数量"
    order = "order", "出库单"
    exited = "exited", "出厂"


class VisitFact(Base):
    """One fact of a booking's visit as LE last reported it: the report that occurred last wins
    (``occurred_at``, then ``event_id``), whatever order the reports arrive in."""

    __tablename__ = "visit_facts"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[VisitFactKind] = mapped_column(status_column(VisitFactKind), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The event that reported it (or ``le-lanes`` / ``le-documents`` for LE's lists, ``migrated`` for older data).
    event_id: Mapped[str] = mapped_column(String(64))
    #: The lane code, the kilograms or the order number; null for a fact that is only a moment.
    value: Mapped[str | int | None] = mapped_column(JSON(none_as_null=True))

    booking: Mapped[Booking] = relationship(back_populates="facts")


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


class OrderStatus(LabelledEnum):
    #: LE made the order but has not said what was shipped: nothing to sign yet.
    created = "created", "待发货"
    #: The shipped quantity is known (the order's or its booking's weighing): the driver may sign.
    shipped = "shipped", "已发货"
    #: The driver's 到货签收.
    signed = "signed", "已签收"


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
    #: created (no quantity yet) → shipped (a quantity) → signed (the driver's sign-off)
    status: Mapped[OrderStatus] = mapped_column(status_column(OrderStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_quantity_kg: Mapped[int | None] = mapped_column(Integer)
    signed_note: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: The product as we know it (LE names it by code; one we do not know leaves it None).
    product: Mapped[Product | None] = relationship(
        primaryjoin="foreign(OutboundOrder.product_code) == Product.code", viewonly=True
    )


class LaneStatus(LabelledEnum):
    """A lane's status as LE reports it; LE may report others, shown as they come."""

    idle = "idle", "空闲"
    loading = "loading", "装车中"
    maintenance = "maintenance", "检修"
    closed = "closed", "关闭"


class Lane(Base):
    """装车道, as LE reports it."""

    __tablename__ = "lanes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    #: Text rather than a LaneStatus: a status LE adds is kept, not refused.
    status: Mapped[str] = mapped_column(String(16))
    loading_count: Mapped[int] = mapped_column(Integer, default=0)
    waiting_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The waiting trucks as LE last listed them: ``[{"booking_id", "position", "called"}]``.
    queue: Mapped[list | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def status_label(self):
        return LaneStatus.label_of(self.status)


class LeEventResult(LabelledEnum):
    """What became of an event LE sent."""

    #: Being applied (never committed as such).
    received = "received", "处理中"
    applied = "applied", "已处理"
    #: The event id was seen before (the answer only; a repeat is not recorded).
    duplicate = "duplicate", "重复"
    #: Understood, but older than what it would change, or about a booking that ended or is unknown.
    ignored = "ignored", "未处理"
    #: Refused: it would give a document to another booking or driver (answered 409 ORDER_CONFLICT).
    conflict = "conflict", "冲突"


#: LE's event types, as operators read them.
LE_EVENT_TYPES = {
    "truck.entered": "车辆入厂", "queue.called": "叫号", "loading.started": "开始装车", "truck.loaded": "装车完成",
    "outbound_order.created": "开具出库单", "truck.exited": "车辆出厂", "lane.changed": "装车道变化",
}


class LeEvent(Base):
    """Every event LE sent us, once: the event id is the deduplication key."""

    __tablename__ = "le_events"
    __table_args__ = (Index("ix_le_events_result_received_at", "result", "received_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data: Mapped[dict] = mapped_column(JSON)
    #: The booking the event names, if any (not a foreign key: LE may name one we do not know).
    booking_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    result: Mapped[LeEventResult] = mapped_column(status_column(LeEventResult))
    #: Why it was ignored or refused, for operators.
    note: Mapped[str | None] = mapped_column(String(200))

    @property
    def type_label(self):
        return LE_EVENT_TYPES.get(self.type, self.type)
