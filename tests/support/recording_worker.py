"""``dramatiq tests.support.recording_worker``: the real worker (``portal.worker``) that also
notes, in ``$PORTAL_TEST_WORKER_NOTES/<pid>``, when it is ready and each message it processed,
so a test can tell which worker process did what."""

import os
import threading
from pathlib import Path

from dramatiq.middleware import Middleware

from portal.worker import broker


class Notes(Middleware):
    def __init__(self, directory):
        self.directory = Path(directory)
        self.lock = threading.Lock()

    def _note(self, line):
        with self.lock, open(self.directory / str(os.getpid()), "a") as notes:
            notes.write(line + "\n")

    def after_worker_boot(self, broker, worker):
        self._note("ready")

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._note(f"{message.actor_name} {'failed' if exception else 'done'}")


broker.add_middleware(Notes(os.environ["PORTAL_TEST_WORKER_NOTES"]))
