"""Faithful simulators of the other systems, for the embedded default and the tests."""

from portal.settings import CONTRACT_SYSTEMS

from .contract import ContractSimulator
from .wechat import WeChatSimulator

#: Template ids the simulated Official Account knows; settings name the ones we use.
def _templates(settings):
    return [value for key, value in settings.items() if key.startswith("portal.wechat_template_")]


def all_simulators(settings):
    """One simulator per other system, accepting the credentials the settings hold."""
    simulators = {
        system: ContractSimulator(system, settings[f"portal.{system}_app_key"], settings[f"portal.{system}_app_secret"])
        for system in CONTRACT_SYSTEMS
    }
    simulators["wechat"] = WeChatSimulator(
        oa_appid=settings["portal.wechat_appid"],
        oa_secret=settings["portal.wechat_secret"],
        mp_appid=settings["portal.wechat_mp_appid"],
        mp_secret=settings["portal.wechat_mp_secret"],
        templates=_templates(settings),
    )
    return simulators
