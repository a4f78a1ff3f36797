"""Callbacks from the systems that speak our signed contract (docs/contract.md).

A view declared with ``signed_by="<system>"`` runs only for a request signed with that
system's app key (``portal.<system>_app_key`` / ``_app_secret``): the signature is checked
first — before the API contract and before anything reads the body — and a request that fails
it is answered 401 with the contract's ``AUTH_…`` code. A signed request whose body breaks the
API contract is then a 422 ``invalid_event`` (see portal.views.errors).
"""

from portal.integrations.contract import SignatureError, verify
from portal.messaging import runtime
from portal.refusal import Refusal
from portal.settings import SystemSettings

#: Where a verified request records who signed it.
SIGNED_BY = "portal.signed_by"


def check_signature(request, system):
    """Refuse (401 with the contract's ``AUTH_…`` code) a request not signed by ``system``."""
    own = SystemSettings.of(request.registry.settings, system)
    try:
        verify(
            headers=request.headers, method=request.method, path_qs=request.path_qs, body=request.body,
            secret_for=lambda given: own.app_secret if given == own.app_key else None, nonce_seen=runtime().nonces.seen,
        )
    except SignatureError as exc:
        raise Refusal(exc.code, "签名校验失败", status=401) from None
    request.environ[SIGNED_BY] = system


def signed_view(view, info):
    """View deriver for the ``signed_by`` option."""
    system = info.options.get("signed_by")
    if not system:
        return view

    def verified_view(context, request):
        check_signature(request, system)
        return view(context, request)

    return verified_view


signed_view.options = ("signed_by",)


def includeme(config):
    # Outside the API contract's check (portal.contract), so that it runs first.
    config.add_view_deriver(signed_view, under="openapi_view", over="contract_view")
