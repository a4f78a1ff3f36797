"""What the end-to-end tests of smart logistics share."""

import pytest

from portal.simulators.base import serve

from ...support.testapp import build_app


@pytest.fixture
def portal(settings, committed, simulators):
    """Our app on 127.0.0.1, with LE's events pointed at it."""
    served = serve(build_app(settings))
    le = simulators["le"]
    original = le.callback_url
    le.callback_url = served.url + "/api/le/events"
    yield served.url
    le.callback_url = original
    served.close()
