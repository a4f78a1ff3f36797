"""The Official Account menu: validation against WeChat's limits, drafts and publishing (公众号菜单).

The form has three top-level slots of which each is either a leaf (``view`` — an H5 page, or
``miniprogram``) or a parent of up to five sub-buttons. Errors are keyed by form field
(``b0.name``, ``b1.s2.url`` …) so the page can show each next to its input.
"""

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import outbox
from portal.catalogue import Area
from portal.models.admin import AdminUser
from portal.models.meta import utcnow
from portal.models.sync import SyncState
from portal.models.wechat import OfficialAccountMenu
from portal.refusal import Refusal

from . import audit

MAX_TOP, MAX_SUB = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES = 16, 60
URL_BYTES = 1024
LEAF_TYPES = {"view": "网页", "miniprogram": "小程序"}


def _invalid(errors: dict) -> Refusal:
    return Refusal("invalid", "菜单不符合微信要求", errors)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _leaf(raw: dict, field: str, errors: dict) -> dict:
    kind = (raw.get("type") or "").strip()
    button = {"type": kind, "name": raw["name"]}
    if kind not in LEAF_TYPES:
        errors[f"{field}.type"] = "请选择菜单类型：网页或小程序"
        return button
    url = (raw.get("url") or "").strip()
    if not url:
        errors[f"{field}.url"] = "请填写网页地址" if kind == "view" else "请填写备用网页地址（旧版微信打不开小程序时使用）"
    elif not url.startswith(("http://", "https://")):
        errors[f"{field}.url"] = "网页地址须以 http:// 或 https:// 开头"
    elif _bytes(url) > URL_BYTES:
        errors[f"{field}.url"] = f"网页地址不能超过 {URL_BYTES} 字节"
    button["url"] = url
    if kind == "miniprogram":
        for key, label in (("appid", "小程序 AppID"), ("pagepath", "小程序页面路径")):
            value = (raw.get(key) or "").strip()
            if not value:
                errors[f"{field}.{key}"] = f"请填写{label}"
            button[key] = value
    return button


def _name(raw: dict, field: str, limit: int, errors: dict) -> str:
    name = (raw.get("name") or "").strip()
    if not name:
        errors[f"{field}.name"] = "请填写菜单名称"
    elif _bytes(name) > limit:
        errors[f"{field}.name"] = f"菜单名称不能超过 {limit} 字节（约 {limit // 3} 个汉字），当前 {_bytes(name)} 字节"
    return name


def validate(raw_buttons: list[dict]) -> list[dict]:
    """Normalised buttons for menu/create, or a Refusal with a message per field."""
    errors = {}
    if not raw_buttons:
        raise _invalid({"menu": "请至少设置一个菜单"})
    if len(raw_buttons) > MAX_TOP:
        raise _invalid({"menu": f"一级菜单最多 {MAX_TOP} 个"})
    buttons = []
    for i, raw in enumerate(raw_buttons):
        field = f"b{i}"
        name = _name(raw, field, TOP_NAME_BYTES, errors)
        subs = raw.get("sub_button") or []
        if subs:
            if len(subs) > MAX_SUB:
                errors[f"{field}.sub"] = f"每个一级菜单最多 {MAX_SUB} 个子菜单"
            children = []
            for j, sub in enumerate(subs[:MAX_SUB]):
                sub_field = f"{field}.s{j}"
                sub = {**sub, "name": _name(sub, sub_field, SUB_NAME_BYTES, errors)}
                children.append(_leaf(sub, sub_field, errors))
            buttons.append({"name": name, "sub_button": children})
        else:
            buttons.append(_leaf({**raw, "name": name}, field, errors))
    if errors:
        raise _invalid(errors)
    return buttons


def from_form(params: Mapping) -> list[dict]:
    """The raw button tree from the editor's flat form fields; empty slots are skipped."""
    def slot(prefix: str) -> dict:
        return {key: (params.get(f"{prefix}.{key}") or "").strip() for key in ("name", "type", "url", "appid", "pagepath")}

    def filled(values: dict) -> bool:
        return any(values[key] for key in ("name", "url", "appid", "pagepath"))

    buttons = []
    for i in range(MAX_TOP):
        top = slot(f"b{i}")
        subs = [sub for sub in (slot(f"b{i}.s{j}") for j in range(MAX_SUB)) if filled(sub)]
        if subs:
            buttons.append({"name": top["name"], "sub_button": subs})
        elif filled(top):
            buttons.append(top)
    return buttons


def default_buttons(public_url: str, areas: Iterable[Area]) -> list[dict]:
    """One entrance per area (the requirements' three), pointing at its H5 page."""
    base = public_url.rstrip("/")
    return [{"type": "view", "name": area.label, "url": f"{base}/h5/{area.name}"} for area in list(areas)[:MAX_TOP]]


def save_draft(db: Session, buttons: list[dict], *, admin: AdminUser | None, ip: str | None = None) -> OfficialAccountMenu:
    menu = OfficialAccountMenu(buttons=validate(buttons), created_by=admin.username if admin else "system")
    db.add(menu)
    db.flush()
    audit.record(db, admin, "menu.save", target_type="menu", target_id=menu.id, summary=f"保存菜单草稿 #{menu.id}",
                 after={"buttons": menu.buttons}, ip=ip)
    return menu


def publish(db: Session, menu: OfficialAccountMenu, *, admin: AdminUser | None, ip: str | None = None) -> OfficialAccountMenu:
    """Queue menu/create for this version; a version is published once."""
    db.refresh(menu, with_for_update=True)  # two clicks on 发布 must not both pass the check
    if menu.publish_requested_at is not None:
        raise Refusal("already_published", f"菜单 #{menu.id} 已提交发布，不能重复发布", status=409)
    menu.publish_requested_at = utcnow()
    menu.publish_requested_by = admin.username if admin else "system"
    menu.sync_state = SyncState.pending
    outbox.defer(db, "wechat.publish_menu", menu.id)
    audit.record(db, admin, "menu.publish", target_type="menu", target_id=menu.id, summary=f"发布菜单 #{menu.id}",
                 after={"buttons": menu.buttons}, ip=ip)
    return menu


def latest(db: Session) -> OfficialAccountMenu | None:
    return db.scalars(select(OfficialAccountMenu).order_by(OfficialAccountMenu.id.desc()).limit(1)).first()


def live(db: Session) -> OfficialAccountMenu | None:
    """The version WeChat users see now: the newest one published successfully."""
    return db.scalars(
        select(OfficialAccountMenu)
        .where(OfficialAccountMenu.sync_state == SyncState.synced, OfficialAccountMenu.publish_requested_at.is_not(None))
        .order_by(OfficialAccountMenu.id.desc())
        .limit(1)
    ).first()


def versions(db: Session, limit: int = 10) -> list[OfficialAccountMenu]:
    """The newest versions, drafts included."""
    return db.scalars(select(OfficialAccountMenu).order_by(OfficialAccountMenu.id.desc()).limit(limit)).all()
