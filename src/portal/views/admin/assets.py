"""The admin pages' script: live parts, charts (Chart.js) and the narrow screen's menu.

Its sources are ``frontend/src/admin/``; Vite builds them beside the H5 pages, into the
``admin/`` folder of the front end's build (``make frontend``; ``portal.h5_dist``), with a
manifest naming the hashed file of the entry. The files are served to admins and cached for a
year: their names change with their content. Without a build the pages still work, only
without refreshing themselves or drawing charts.
"""

import json
import mimetypes
from functools import lru_cache

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import FileResponse
from pyramid.view import view_config

from portal.views.h5 import ASSET_NAME, dist_dir

#: The entry of the build (frontend/vite.admin.config.js).
ENTRY = "src/admin/main.js"
CACHED = "private, max-age=31536000, immutable"


def _build(request):
    return dist_dir(request) / "admin"


@lru_cache(maxsize=4)
def _entry_file(manifest, modified):
    """The entry's built file, as the manifest names it (read again when the build changes)."""
    return json.loads(manifest.read_text())[ENTRY]["file"]


def script_url(request):
    """The URL of the built script, or None when the front end is not built."""
    manifest = _build(request) / ".vite" / "manifest.json"
    if not manifest.is_file():
        return None
    name = _entry_file(manifest, manifest.stat().st_mtime_ns).removeprefix("assets/")
    return request.route_path("admin.asset", name=name)


@view_config(route_name="admin.asset", request_method="GET", permission="admin")
def asset(request):
    name = request.matchdict["name"]
    path = _build(request) / "assets" / name
    if not ASSET_NAME.match(name) or not path.is_file():
        raise HTTPNotFound()
    content_type, _ = mimetypes.guess_type(name)
    response = FileResponse(str(path), request=request, content_type=content_type or "application/octet-stream")
    response.cache_control = CACHED
    return response
