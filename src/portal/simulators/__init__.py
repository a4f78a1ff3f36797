"""Faithful simulators of the other systems, for the embedded default and the tests."""

from portal.settings import CONTRACT_SYSTEMS

from .contract import ContractSimulator


def contract_simulators(settings):
    """One simulator per contract system, accepting the credentials the settings hold."""
    return {
        system: ContractSimulator(system, settings[f"portal.{system}_app_key"], settings[f"portal.{system}_app_secret"])
        for system in CONTRACT_SYSTEMS
    }
