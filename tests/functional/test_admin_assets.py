"""The admin pages' script (frontend/src/admin/, built into <dist>/admin): named in every admin
page from the build's manifest, served to admins only and cached for a year."""

import json

import pytest
import webtest

from ..support import factories
from ..support.factories import login_admin
from ..support.testapp import build_app


@pytest.fixture
def dist(tmp_path):
    build = tmp_path / "admin"
    (build / ".vite").mkdir(parents=True)
    (build / "assets").mkdir()
    (build / "assets" / "main-AbC123.js").write_text("import('./chartjs-XyZ789.js')")
    (build / "assets" / "chartjs-XyZ789.js").write_text("export const Chart = 1")
    manifest = {"src/admin/main.js": {"file": "assets/main-AbC123.js", "isEntry": True}}
    (build / ".vite" / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def _app(settings, tm, db, dist):
    app = build_app({**settings, "portal.h5_dist": str(dist)})
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": "example.com", "tm.active": True, "tm.manager": tm, "app.dbsession": db})


def test_admin_pages_load_the_built_script_which_is_cached_for_a_year(settings, tm, db, dist):
    app = _app(settings, tm, db, dist)
    app.get("/admin/assets/main-AbC123.js", status=302)  # admins only
    factories.admin(db, "visitors", username="fangke")
    login_admin(app, "fangke")
    page = app.get("/admin/wechat-users")
    assert '<script type="module" src="/admin/assets/main-AbC123.js"></script>' in page.text
    for name in ("main-AbC123.js", "chartjs-XyZ789.js"):  # the entry, and what it loads itself
        asset = app.get(f"/admin/assets/{name}")
        assert asset.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert asset.content_type == "text/javascript"
    app.get("/admin/assets/missing-XyZ.js", status=404)
    app.get("/admin/assets/..%2F.vite%2Fmanifest.json", status=404)


def test_without_a_build_the_pages_still_work(settings, tm, db, tmp_path):
    app = _app(settings, tm, db, tmp_path)
    factories.admin(db, "super", username="boss")
    login_admin(app, "boss")
    page = app.get("/admin/")
    assert "<script" not in page.text and "死信与发送失败" in page.text
