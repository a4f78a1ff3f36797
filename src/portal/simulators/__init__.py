"""Faithful simulators of the other systems, for the embedded default and the tests."""

from portal.settings import CONTRACT_SYSTEMS

from .contract import ContractSimulator
from .le import LeSimulator
from .mes import MesSimulator
from .wechat import WeChatSimulator

def _templates(settings):
    """Template ids the simulated Official Account knows: the ones our settings name."""
    return [value for key, value in settings.items() if key.startswith("portal.wechat_template_")]


def all_simulators(settings):
    """One simulator per other system, accepting the credentials the settings hold."""
    def credentials(system):
        return settings[f"portal.{system}_app_key"], settings[f"portal.{system}_app_secret"]

    simulators = {
        "le": LeSimulator(
            *credentials("le"),
            callback_url=settings.get("portal.le_callback_url") or settings["portal.public_url"].rstrip("/") + "/api/le/events",
        ),
        "mes": MesSimulator(*credentials("mes")),
    }
    for system in CONTRACT_SYSTEMS:
        if system not in simulators:
            simulators[system] = ContractSimulator(system, *credentials(system))
    simulators["wechat"] = WeChatSimulator(
        oa_appid=settings["portal.wechat_appid"],
        oa_secret=settings["portal.wechat_secret"],
        mp_appid=settings["portal.wechat_mp_appid"],
        mp_secret=settings["portal.wechat_mp_secret"],
        templates=_templates(settings),
    )
    return simulators
