"""The shape of the code: every module imports on its own with no broker, no import hides a
cycle inside a function, and the core names no business area."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import portal

SRC = Path(portal.__file__).resolve().parent
ALEMBIC = SRC / "alembic"


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        if ALEMBIC in path.parents:
            continue
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Run in a fresh interpreter: each module is imported first thing in a process of its own
#: (forked before anything of portal was imported), and must leave no broker configured.
_IMPORT_EACH = r"""
import importlib, json, os, sys, traceback
# The libraries portal builds on, loaded once so that each child only imports portal itself.
for library in (
    "sqlalchemy.orm", "sqlalchemy.dialects.postgresql", "pyramid.config", "pyramid.view", "pyramid_openapi3", "pyramid_jinja2",
    "pyramid_tm", "zope.sqlalchemy", "dramatiq.brokers.redis", "dramatiq.brokers.rabbitmq", "redis", "requests", "wechatpy",
    "openpyxl", "argon2", "cachetools", "openapi_schema_validator", "alembic.command",
):
    importlib.import_module(library)
assert not any(name == "portal" or name.startswith("portal.") for name in sys.modules)
failures = {}
entry_points = {"portal.worker"}  # `dramatiq portal.worker`: configuring the broker is its job
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            if module not in entry_points:
                import dramatiq.broker
                assert dramatiq.broker.global_broker is None, "importing it set a Dramatiq broker"
                broker = sys.modules.get("portal.messaging.broker")
                assert broker is None or broker._runtime is None, "importing it configured messaging"
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as output:
        message = output.read()
    if os.waitpid(pid, 0)[1]:
        failures[module] = message
print(json.dumps(failures))
"""


def test_every_module_imports_first_in_a_fresh_process_with_no_broker():
    modules = list(_modules())
    assert "portal.services.logistics" in modules
    result = subprocess.run([sys.executable, "-c", _IMPORT_EACH, *modules], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout)
    assert failures == {}, "\n".join(f"{module}:\n{error}" for module, error in failures.items())


def test_no_function_imports_a_module_of_portal():
    """Imports inside functions hid import cycles; the layers now import each other one way."""
    found = []
    for path in SRC.rglob("*.py"):
        if ALEMBIC in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "").startswith("portal")):
                    found.append(f"{path.relative_to(SRC)}:{inner.lineno}")
                elif isinstance(inner, ast.Import) and any(a.name.startswith("portal") for a in inner.names):
                    found.append(f"{path.relative_to(SRC)}:{inner.lineno}")
    assert found == []


# -- the core names no area ----------------------------------------------------------------------

#: The areas, the systems only one area talks to, and the areas' Chinese names.
AREA_WORDS = re.compile(r"\b(logistics|visitors|canteen|le|mes|park)\b|智慧物流|访客预约|餐卡消费", re.IGNORECASE)
#: Files named after an area or one of its systems are the area's own.
AREA_FILES = {"logistics", "visitors", "canteen", "le", "mes", "le_events"}
#: make_config's include lines: the one list of areas.
AREA_INCLUDE = re.compile(r'^\s*config\.include\("portal\.areas\.\w+"\)\s*$')


def _core_files():
    for path in sorted(SRC.rglob("*")):
        relative = path.relative_to(SRC)
        if not path.is_file() or path.suffix not in (".py", ".html") or relative.parts[0] in ("alembic", "areas"):
            continue
        if AREA_FILES & {part.removesuffix(path.suffix) for part in relative.parts}:
            continue
        yield path


def test_core_modules_name_no_area():
    found = []
    for path in _core_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if AREA_WORDS.search(line) and not AREA_INCLUDE.match(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


def test_the_check_sees_the_core():
    core = {str(path.relative_to(SRC)) for path in _core_files()}
    assert {"scheduler.py", "outbox.py", "settings.py", "views/errors.py", "views/h5.py", "models/admin.py"} <= core
    assert {"messaging/broker.py", "simulators/__init__.py", "views/admin/__init__.py", "templates/admin/layout.html"} <= core
    assert "views/api/logistics.py" not in core and "templates/admin/logistics/bookings.html" not in core


# -- style ---------------------------------------------------------------------------------------


def test_every_service_function_has_a_typed_signature():
    untyped = []
    for path in sorted((SRC / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if node.returns is None or any(argument.annotation is None for argument in arguments):
                    untyped.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert untyped == []


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff, "ruff is part of the test extra: pip install -e '.[test]'"
    result = subprocess.run([ruff, "check", "--no-cache", "src", "tests"], cwd=SRC.parent.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
