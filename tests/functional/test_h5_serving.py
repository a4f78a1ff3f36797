"""The built H5 front end as the app serves it: every page path answers index.html (never
cached), hashed assets are cached for a year, a missing build says how to make it."""

import pytest
import webtest

from ..support import factories
from ..support.testapp import build_app


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="app"></div><script src="/h5/assets/index-AbC123.js"></script>')
    (tmp_path / "assets" / "index-AbC123.js").write_text("console.log('东南电化')")
    (tmp_path / "assets" / ".built").write_text("")
    return tmp_path


def _app(settings, tm, db, dist):
    app = build_app({**settings, "portal.h5_dist": str(dist)})
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": "example.com", "tm.active": True, "tm.manager": tm, "app.dbsession": db})


def _auth(db):
    return {"Authorization": f"Bearer {factories.token_for(db, factories.wechat_user(db))}"}


def test_every_page_path_answers_the_app_and_assets_are_immutable(settings, tm, db, dist):
    app = _app(settings, tm, db, dist)
    auth = _auth(db)
    for path in ("/h5/", "/h5/logistics", "/h5/logistics/bookings/12/result", "/h5/visitors"):
        page = app.get(path, headers=auth)
        assert page.content_type == "text/html" and '<div id="app">' in page.text
        assert page.headers["Cache-Control"] == "no-cache"
    asset = app.get("/h5/assets/index-AbC123.js")  # public: no login needed
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.content_type == "text/javascript" and "东南电化" in asset.body.decode()
    app.get("/h5/assets/missing-XyZ.js", status=404)
    app.get("/h5/assets/.built", status=404)  # there, but no build file's name


def test_a_stranger_is_sent_through_wechat_login_to_the_page_opened(settings, tm, db, dist):
    app = _app(settings, tm, db, dist)
    response = app.get("/h5/logistics/queue", status=302)
    assert response.location.endswith("/auth/wechat/login?next=%2Fh5%2Flogistics%2Fqueue")


def test_a_missing_build_says_how_to_make_it(settings, tm, db, tmp_path):
    app = _app(settings, tm, db, tmp_path / "nowhere")
    page = app.get("/h5/logistics", headers=_auth(db), status=503)
    assert "页面尚未构建" in page.text and "make frontend" in page.text
    assert "make frontend" in app.get("/h5/assets/index-AbC123.js", status=503).text
