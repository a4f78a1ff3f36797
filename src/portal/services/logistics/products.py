"""品名 and their stock rules, changed by operators (后台); every change audited."""

import re

from sqlalchemy.orm import Session

from portal.forms import Form
from portal.models.admin import AdminUser
from portal.models.logistics import Product
from portal.services import audit

PRODUCT_CODE = re.compile(r"^[A-Z0-9_]{2,32}$")
#: Bounds of a product's own reservation window (minutes): ten minutes to a week.
WINDOW_MINUTES = (10, 10_080)


def _product_fields(form: Form) -> dict:
    return {
        "name": form.text("name", "品名", max_len=64),
        "threshold_kg": form.whole_number("threshold_kg", "存量阈值（千克）", minimum=0, maximum=10**9),
        "reservation_minutes": form.whole_number(
            "reservation_minutes", "预约有效时长（分钟）", minimum=WINDOW_MINUTES[0], maximum=WINDOW_MINUTES[1], required=False
        ),
    }


def _product_state(product: Product) -> dict:
    return {
        "name": product.name, "threshold_kg": product.threshold_kg,
        "reservation_minutes": product.reservation_minutes, "active": product.active,
    }


def create_product(db: Session, data: dict, admin: AdminUser, *, ip: str | None = None) -> Product:
    """A new product from the admin form (strings); a Refusal names every field at fault."""
    form = Form(data)
    code = (form.text("code", "品名代码", max_len=32) or "").upper()
    form.check("code", PRODUCT_CODE.match(code), "品名代码须为 2–32 位大写字母、数字或下划线")
    fields = _product_fields(form)
    form.check("code", db.get(Product, code) is None, "该品名代码已存在")
    form.done()
    product = Product(code=code, active=True, **fields)
    db.add(product)
    db.flush()
    audit.record(
        db, admin, "product.create", target_type="product", target_id=code, summary=f"新增品名 {code}（{product.name}）",
        after=_product_state(product), ip=ip,
    )
    return product


def update_product(db: Session, product: Product, data: dict, admin: AdminUser, *, ip: str | None = None) -> bool:
    """Change name, threshold, window and active; False when nothing changed."""
    form = Form(data)
    fields = _product_fields(form)
    form.done()
    fields["active"] = data.get("active") == "on"
    before = _product_state(product)
    if before == fields:
        return False
    for name, value in fields.items():
        setattr(product, name, value)
    audit.record(
        db, admin, "product.update", target_type="product", target_id=product.code,
        summary=f"修改品名 {product.code}（{product.name}）", before=before, after=_product_state(product), ip=ip,
    )
    return True
