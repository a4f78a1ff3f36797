"""The one way a request is refused: :class:`Refusal`."""


class Refusal(Exception):
    """A request refused for a reason its sender can act on.

    ``code`` is for programs (``invalid``, ``not_found`` …), ``message`` is for people (Chinese),
    ``fields`` says what is wrong with each input, ``status`` is the HTTP status. Services and
    views raise it; the API answers it with one exception view (``{"error": {"code", "message",
    "fields"}}``, portal.views.errors), admin pages show it next to their form fields
    (portal.views.admin.form_errors). The request's transaction is rolled back either way.
    """

    def __init__(self, code: str, message: str, fields: dict | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.status = status

    def __repr__(self):
        return f"Refusal({self.code!r}, {self.message!r}, {self.fields!r}, status={self.status})"
