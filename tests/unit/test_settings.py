import pytest

from portal.settings import CoreSettings, from_environment


def test_environment_overrides_the_ini():
    settings = from_environment(
        {"sqlalchemy.url": "sqlite://", "portal.le_url": "http://ini"},
        environ={"DATABASE_URL": "postgresql+psycopg://db/portal", "PORTAL_LE_URL": "http://env", "HOME": "/root"},
    )
    assert settings["sqlalchemy.url"] == "postgresql+psycopg://db/portal"
    assert settings["portal.le_url"] == "http://env"
    assert "portal.home" not in settings


def test_any_portal_variable_becomes_a_setting_and_defaults_fill_the_rest():
    settings = from_environment({}, environ={"PORTAL_LE_APP_SECRET": "s3cret", "PORTAL_INI": "production.ini"})
    assert settings["portal.le_app_secret"] == "s3cret"
    assert "portal.ini" not in settings
    assert CoreSettings.from_settings(settings).broker == "stub"


def test_redis_is_the_broker_unless_a_broker_url_is_given():
    settings = from_environment({}, environ={"REDIS_URL": "redis://r:6379/2"})
    assert CoreSettings.from_settings(settings).broker_url == "redis://r:6379/2"
    settings = from_environment({}, environ={"REDIS_URL": "redis://r/2", "BROKER_URL": "amqp://mq//"})
    assert CoreSettings.from_settings(settings).broker_url == "amqp://mq//"


@pytest.mark.parametrize("text, expected", [("true", True), ("1", True), ("yes", True), ("on", True), ("false", False), ("0", False)])
def test_every_flag_is_read_the_same_way(text, expected):
    assert CoreSettings.from_settings({"portal.secure_cookies": text, "portal.embedded": text}) == CoreSettings(
        secure_cookies=expected, embedded=expected
    )


def test_a_setting_that_is_not_what_it_should_be_stops_the_start():
    with pytest.raises(ValueError, match="portal.outbox_relay_after"):
        CoreSettings.from_settings({"portal.outbox_relay_after": "soon"})
    with pytest.raises(ValueError, match="portal.broker must be one of stub, redis, rabbitmq"):
        CoreSettings.from_settings({"portal.broker": "kafka"})
