from portal.settings import from_environment


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
    assert settings["portal.broker"] == "stub"


def test_redis_is_the_broker_unless_a_broker_url_is_given():
    assert from_environment({}, environ={"REDIS_URL": "redis://r:6379/2"})["portal.broker_url"] == "redis://r:6379/2"
    settings = from_environment({}, environ={"REDIS_URL": "redis://r/2", "BROKER_URL": "amqp://mq//"})
    assert settings["portal.broker_url"] == "amqp://mq//"
