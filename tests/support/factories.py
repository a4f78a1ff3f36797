"""Small builders of test records; every one goes through the services the app uses."""

import itertools
import re
from datetime import timedelta

from portal.models.identity import WeChatUser
from portal.models.meta import utcnow
from portal.services import admin_accounts, identity

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


def admin(db, *areas, username=None, password=PASSWORD):
    return admin_accounts.create_admin(
        db, username=username or f"admin{next(_seq)}", display_name="测试管理员", password=password, areas=list(areas) or ["super"]
    )


def wechat_user(db, *, staff=False, name=None, **fields):
    n = next(_seq)
    user = WeChatUser(oa_openid=f"o-test-openid-{n:06d}", display_name=name or f"用户{n}", is_staff=staff, login_count=1, **fields)
    db.add(user)
    db.flush()
    return user


def token_for(db, user, channel="miniprogram", expires_in=None):
    token, record = identity.issue_token(db, user, channel)
    if expires_in is not None:
        record.expires_at = utcnow() + timedelta(seconds=expires_in)
    return token


def csrf_from(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login_admin(testapp, username, password=PASSWORD, status=302):
    page = testapp.get("/admin/login")
    return testapp.post(
        "/admin/login", {"username": username, "password": password, "csrf_token": csrf_from(page), "next": "/admin/"}, status=status
    )
