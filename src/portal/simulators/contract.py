"""Simulator base for the systems that speak our signed contract (docs/contract.md).

It checks signatures, clock skew and nonces exactly as the contract says, and answers the
contract's common endpoint ``POST /v1/connectivity-checks``; the simulator of each system extends
it with that system's own endpoints.
"""

import threading
import time
import uuid

from portal.integrations.contract import SignatureError, verify
from portal.settings import SystemSettings

from .base import Reject, Simulator


class ContractSimulator(Simulator):
    def __init__(self, name, app_key, app_secret):
        super().__init__()
        self.name = name
        self.app_key = app_key
        self.app_secret = app_secret
        self._nonces = {}
        self._nonce_lock = threading.Lock()
        self.route("POST", "/v1/connectivity-checks", self.connectivity_check, write=True)

    @classmethod
    def from_settings(cls, settings, system):
        """The simulator of ``system``, accepting the credentials the settings give portal."""
        own = SystemSettings.of(settings, system)
        return cls(system, own.app_key, own.app_secret)

    def _nonce_seen(self, key, nonce):
        now = time.time()
        with self._nonce_lock:
            # Nonces older than the allowed clock skew can be forgotten: their timestamps fail.
            if len(self._nonces) > 10_000:
                self._nonces = {k: t for k, t in self._nonces.items() if now - t < 600}
            if (key, nonce) in self._nonces:
                return True
            self._nonces[(key, nonce)] = now
            return False

    def authenticate(self, request, body_bytes):
        # Signed over the path as the client sent it, mount prefix included.
        path = request.script_name + request.path_info
        path_qs = path + (f"?{request.query_string}" if request.query_string else "")
        try:
            verify(
                headers=request.headers,
                method=request.method,
                path_qs=path_qs,
                body=body_bytes,
                secret_for=lambda key: self.app_secret if key == self.app_key else None,
                nonce_seen=self._nonce_seen,
            )
        except SignatureError as exc:
            raise Reject(401, exc.code, exc.message) from None

    def connectivity_check(self, request, body):
        return 200, {"check_id": uuid.uuid4().hex, "system": self.name, "received_at": int(time.time())}
