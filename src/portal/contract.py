"""The API contract compiled once: request validation without openapi-core's per-request cost.

Every /api view is declared with ``openapi=True``: its request must follow portal/openapi.yaml
before the view runs. pyramid_openapi3 would check that with openapi-core, which walks the
document through jsonschema_path again on every request (about 1 ms of CPU, a third of a
typical request). Instead, the document pyramid_openapi3 loaded is compiled here once, at
start-up: ``$ref``s inlined, and every operation turned into its security requirements, its
parameters and its JSON body, each schema with one OpenAPI 3.0 JSON Schema validator
(openapi-schema-validator's, the ones openapi-core itself uses) built once and reused.

A request is checked the way openapi-core 0.23 checks it — security first (and nothing else
when it fails), then the parameters in document order (cast from text as openapi-core casts
them), then the body — and the problems found are raised as :class:`RequestRefused`, which
portal.views.errors answers in our error shape, exactly as it answered openapi-core's errors.

pyramid_openapi3 still serves the document and its explorer, checks that every path is a
route, and validates our responses (tests and development).
"""

import json
from dataclasses import dataclass, field

from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker
from pyramid.config import PHASE1_CONFIG
from pyramid.exceptions import ConfigurationError
from pyramid_openapi3.exceptions import RequestValidationError

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# -- what can be wrong with a request -------------------------------------------------------------


@dataclass(frozen=True)
class NotInDocument:
    """The document has no operation for this request: not its path (404) or not its method (405)."""

    path: str
    method: str
    path_documented: bool

    def __str__(self):
        return f"{self.method.upper()} {self.path} is not in the document"


@dataclass(frozen=True)
class NoCredentials:
    """None of the operation's security requirements is met (alternatives of scheme names)."""

    requirements: tuple

    def __str__(self):
        return f"no credentials for any of {self.requirements}"


@dataclass(frozen=True)
class ParameterProblem:
    """A path, query, header or cookie parameter that is missing, not castable, empty or invalid.

    ``kind``: ``missing`` (a required one), ``cast`` (text that is not a ``cast_to``), ``empty``
    (``?name=``, for a query parameter that is text) or ``schema`` (see ``schema_errors``, the
    jsonschema errors, paths relative to the value).
    """

    name: str
    location: str
    kind: str
    cast_to: str | None = None
    schema_errors: tuple = ()
    #: What people call it: its schema's ``title`` in the document.
    label: str | None = None

    def __str__(self):
        return f"{self.location} parameter {self.name}: {self.kind}{_messages(self.schema_errors)}"


@dataclass(frozen=True)
class BodyProblem:
    """A request body that is missing (when required), not JSON, or not what the schema says.

    ``kind``: ``missing``, ``media_type`` (not a documented content type), ``not_utf8``,
    ``not_json`` or ``schema`` (see ``schema_errors``, paths relative to the body).
    """

    kind: str
    schema_errors: tuple = ()
    #: The body's schema, whose properties' ``title``s name the fields (:func:`label_of`).
    schema: dict | None = field(default=None, compare=False)

    def __str__(self):
        return f"request body: {self.kind}{_messages(self.schema_errors)}"


def label_of(schema, path):
    """The ``title`` of the property at ``path`` (names and item indexes) in ``schema``, or of
    the nearest property above it that has one; None when none has."""
    label, node = None, schema or {}
    for part in path:
        node = node.get("items", {}) if isinstance(part, int) else node.get("properties", {}).get(part, {})
        label = node.get("title", label)
    return label


def _messages(schema_errors):
    return "".join(f"; {'/'.join(map(str, error.path)) or '.'}: {error.message}" for error in schema_errors)


class RequestRefused(RequestValidationError):
    """A request the contract refuses; ``errors`` are the problems above.

    A pyramid_openapi3 request validation error, so that it is answered by the exception view
    for those (portal.views.errors.contract_request_refused).
    """


# -- compiled parts -------------------------------------------------------------------------------


def _unsupported(where, what):
    """The document uses what this module does not implement: refuse to start rather than guess."""
    raise ConfigurationError(f"{where}: {what} not supported by portal.contract")


def _schema_validator(schema):
    # Write validator: the request side of OpenAPI 3.0 (readOnly properties may not be sent), as
    # openapi-core uses for requests; the format checker knows date, date-time, int32, int64 ….
    return OAS30WriteValidator(schema, format_checker=oas30_format_checker)


class _NotCastable(Exception):
    def __init__(self, type_):
        self.type = type_


_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


def _boolean(text):
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


_SCALAR_CASTS = {"integer": int, "number": float, "boolean": _boolean}


def _caster(schema, where):
    """Text → the schema's type, as openapi-core casts parameters (``int("007")``, ``"on"`` → True).
    ``None`` for text that stays text."""
    type_ = schema.get("type")
    if type_ == "array":
        cast_item = _caster(schema.get("items", {}), where)
        return None if cast_item is None else (lambda values: [cast_item(value) for value in values])
    if type_ == "string":
        return None
    if type_ not in _SCALAR_CASTS:
        _unsupported(where, f"parameters of type {type_!r}")
    convert = _SCALAR_CASTS[type_]

    def cast(text):
        try:
            return convert(text)
        except (ValueError, TypeError):
            raise _NotCastable(type_) from None

    return cast


class _Parameter:
    __slots__ = ("name", "location", "label", "required", "has_default", "read", "cast", "validator")

    #: Where each location's values are: the same objects pyramid_openapi3 gave openapi-core.
    SOURCES = {
        "path": lambda request: request.matchdict,
        "query": lambda request: request.GET,
        "header": lambda request: request.headers,
        "cookie": lambda request: request.cookies,
    }

    def __init__(self, spec, where):
        self.name, self.location = spec["name"], spec["in"]
        where = f"{where} {self.location} parameter {self.name}"
        if "schema" not in spec or "allowEmptyValue" in spec or self.location not in self.SOURCES:
            _unsupported(where, "parameters without a schema, with content or allowEmptyValue")
        schema = spec["schema"]
        self.label = schema.get("title")
        self.required = spec.get("required", False)
        self.has_default = "default" in schema
        self.read = self._reader(spec, schema, where)
        self.cast = _caster(schema, where)
        self.validator = _schema_validator(schema)

    def _reader(self, spec, schema, where):
        """How the parameter's value is read from its location (OpenAPI's style and explode)."""
        style = spec.get("style", "simple" if self.location in ("path", "header") else "form")
        explode = spec.get("explode", style == "form")
        array = schema.get("type") == "array"
        name = self.name
        if style not in ("form", "simple") or (array and style == "form" and explode and self.location != "query"):
            _unsupported(where, f"style {style!r} (explode {explode}) here")
        if not array:
            return lambda values: values[name]
        if style == "form" and explode:  # ?id=1&id=2

            def every(values):
                if name not in values:
                    raise KeyError(name)
                return values.getall(name)

            return every
        return lambda values: values[name].split(",")  # ?id=1,2 or a header 1,2

    def problem(self, request):
        try:
            value = self.read(self.SOURCES[self.location](request))
        except KeyError:
            if self.required and not self.has_default:
                return ParameterProblem(self.name, self.location, "missing", label=self.label)
            return None  # absent: its default (checked against its schema when the document was loaded) or nothing
        if self.cast is not None:
            try:
                value = self.cast(value)
            except _NotCastable as exc:
                return ParameterProblem(self.name, self.location, "cast", cast_to=exc.type, label=self.label)
        if self.location == "query" and value == "":
            return ParameterProblem(self.name, self.location, "empty", label=self.label)
        errors = tuple(self.validator.iter_errors(value))
        if errors:
            return ParameterProblem(self.name, self.location, "schema", schema_errors=errors, label=self.label)
        return None


class _Body:
    __slots__ = ("required", "schema", "validator")

    def __init__(self, spec, where):
        self.required = spec.get("required", False)
        if set(spec["content"]) != {"application/json"}:
            _unsupported(where, "request bodies other than application/json")
        self.schema = spec["content"]["application/json"].get("schema")
        self.validator = None if self.schema is None else _schema_validator(self.schema)

    def problem(self, request):
        body = request.body
        if not body:
            return BodyProblem("missing") if self.required else None
        # Compared as openapi-core does: lowercased, without parameters (Pyramid's has none).
        if request.content_type.lower().rstrip() != "application/json":
            return BodyProblem("media_type")
        try:
            value = json.loads(body)  # bytes: UTF-8 (or UTF-16/32, which json detects), as openapi-core
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError too
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return BodyProblem("not_utf8")
            return BodyProblem("not_json")
        if self.validator is not None:
            errors = tuple(self.validator.iter_errors(value))
            if errors:
                return BodyProblem("schema", schema_errors=errors, schema=self.schema)
        return None


def _security_check(name, scheme, where):
    """A predicate on the request: are this scheme's credentials present (not: are they valid)?"""
    kind = scheme.get("type")
    if kind == "apiKey" and scheme.get("in") in _Parameter.SOURCES:
        source, key = _Parameter.SOURCES[scheme["in"]], scheme["name"]
        return lambda request: key in source(request)
    if kind == "http":
        expected = scheme["scheme"]  # compared as openapi-core does: the request's lowercased

        def authorization(request):
            auth_type, space, _ = request.headers.get("Authorization", "").partition(" ")
            return bool(space) and auth_type.lower() == expected

        return authorization
    _unsupported(where, f"security scheme {name!r} of type {kind!r}")


class _Operation:
    __slots__ = ("requirements", "names", "parameters", "body")

    def __init__(self, document, path_item, operation, where):
        schemes = document.get("components", {}).get("securitySchemes", {})
        security = operation.get("security", document.get("security")) or ()
        for requirement in security:
            for name in requirement:
                if name not in schemes:
                    raise ConfigurationError(f"{where}: unknown security scheme {name!r}")
        self.names = tuple(tuple(requirement) for requirement in security)
        self.requirements = tuple(
            tuple(_security_check(name, schemes[name], where) for name in requirement) for requirement in security
        )
        # The operation's own parameters, then the path's that it does not override.
        seen, self.parameters = set(), []
        for spec in (*operation.get("parameters", ()), *path_item.get("parameters", ())):
            if (spec["name"], spec["in"]) not in seen:
                seen.add((spec["name"], spec["in"]))
                self.parameters.append(_Parameter(spec, where))
        self.body = _Body(operation["requestBody"], where) if "requestBody" in operation else None

    def problems(self, request):
        if self.requirements and not any(all(met(request) for met in requirement) for requirement in self.requirements):
            return [NoCredentials(self.names)]  # nothing else is looked at
        problems = [problem for parameter in self.parameters if (problem := parameter.problem(request))]
        if self.body is not None and (problem := self.body.problem(request)):
            problems.append(problem)
        return problems


# -- the contract ---------------------------------------------------------------------------------


def _pointer(document, ref):
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(node, document, resolving=()):
    """``node`` with every ``$ref`` replaced by what it points to (references within the document)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if len(node) > 1 or not ref.startswith("#/") or ref in resolving:
                # OpenAPI 3.0 ignores what stands next to a $ref, JSON Schema does not; a cycle
                # cannot be inlined. Neither is in our document: say so when one comes.
                _unsupported(f"$ref {ref!r}", "a $ref with siblings, outside the document or recursive")
            return _inline(_pointer(document, ref), document, (*resolving, ref))
        return {key: _inline(value, document, resolving) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, document, resolving) for item in node]
    return node


class Contract:
    """Every operation of the document, compiled; :meth:`problems` checks one request."""

    def __init__(self, document):
        paths = _inline(document.get("paths", {}), document)
        self.paths = set(paths)
        self.operations = {
            (path, method): _Operation(document, item, item[method], f"{method.upper()} {path}")
            for path, item in paths.items()
            for method in _METHODS
            if method in item
        }

    def problems(self, request):
        """What is wrong with the request (empty when nothing is)."""
        route = request.matched_route
        path = route.pattern if route is not None else request.path_info
        method = request.method.lower()
        operation = self.operations.get((path, method))
        if operation is None:
            return [NotInDocument(path, method, path in self.paths)]
        return operation.problems(request)


def contract_view(view, info):
    """View deriver: an ``openapi=True`` view runs only for a request that follows the contract.

    Placed where pyramid_openapi3 validated requests: after the permission check and inside its
    own deriver (which marks the response for validation), just before the view."""
    if not info.options.get("openapi"):
        return view
    contract = info.registry.api_contract

    def validated_view(context, request):
        problems = contract.problems(request)
        if problems:
            raise RequestRefused(errors=problems)
        return view(context, request)

    return validated_view


contract_view.options = ("openapi",)


def includeme(config):
    """Compile the document pyramid_openapi3 loaded (config.pyramid_openapi3_spec) and check
    every ``openapi=True`` view's requests against it."""

    def compile_contract():
        document = config.registry.settings["pyramid_openapi3"]["spec"].read_value()
        config.registry.api_contract = Contract(document)

    # After pyramid_openapi3 loaded the document (PHASE0), before views are derived.
    config.action(("portal.contract",), compile_contract, order=PHASE1_CONFIG)
    config.add_view_deriver(contract_view, under="openapi_view", over="rendered_view")
