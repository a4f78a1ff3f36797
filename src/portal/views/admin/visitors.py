"""访客预约 admin pages: 公众号用户管理 — every WeChat user who ever logged in; disable/enable,
grant/revoke staff (内部工作人员 approve visitors)."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from portal.models.identity import UserStatus, WeChatUser
from portal.services import audit, identity

from . import Page, client_ip, get_or_404

PERMISSION = "admin:visitors"
ACTIONS = {
    "disable": (identity.disable_user, "已停用该用户"),
    "enable": (identity.enable_user, "已启用该用户"),
    "grant_staff": (identity.grant_staff, "已授予内部工作人员权限"),
    "revoke_staff": (identity.revoke_staff, "已撤销内部工作人员权限"),
}


@view_config(route_name="admin.wechat_users", renderer="admin/visitors/wechat_users.html", permission=PERMISSION)
def wechat_users(request):
    q = request.params.get("q", "").strip()
    status = request.params.get("status", "")
    staff = request.params.get("staff", "")
    query = identity.user_list(
        search=q,
        status=UserStatus(status) if status in ("active", "disabled") else None,
        staff=staff == "yes" if staff in ("yes", "no") else None,
    )
    return {"page": Page(request, request.dbsession, query), "q": q, "status": status, "staff": staff}


@view_config(
    route_name="admin.wechat_user", request_method="GET", renderer="admin/visitors/wechat_user.html", permission=PERMISSION
)
def wechat_user(request):
    user = get_or_404(request, WeChatUser)
    return {"user": user, "history": audit.history_of(request.dbsession, "wechat_user", user.id)}


@view_config(route_name="admin.wechat_user", request_method="POST", permission=PERMISSION)
def change_wechat_user(request):
    user = get_or_404(request, WeChatUser)
    action = ACTIONS.get(request.POST.get("action"))
    if action is None:
        request.session.flash("未知的操作", "error")
    else:
        change, done = action
        note = request.POST.get("note", "").strip()[:200] or None
        if change(request.dbsession, user, request.admin_session.admin, ip=client_ip(request), note=note):
            request.session.flash(done, "success")
        else:
            request.session.flash("用户已是该状态，无需修改", "info")
    return HTTPFound(request.route_url("admin.wechat_user", id=user.id))
