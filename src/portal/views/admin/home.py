"""The admin dashboard."""

from pyramid.view import view_config
from sqlalchemy import func, select

from portal import outbox
from portal.models.identity import WeChatUser
from portal.models.ops import DeadLetter, DeadLetterStatus


@view_config(route_name="admin.home", renderer="admin/home.html", permission="admin")
def home(request):
    db = request.dbsession
    return {
        "users": db.scalar(select(func.count()).select_from(WeChatUser)),
        "staff": db.scalar(select(func.count()).select_from(WeChatUser).where(WeChatUser.is_staff.is_(True))),
        "open_dead_letters": db.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.status == DeadLetterStatus.open)
        ),
        "outbox": outbox.status(db),
    }
