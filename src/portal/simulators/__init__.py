"""Faithful simulators of the other systems, for the embedded default and the tests.

Each system's simulator is in the catalogue (``config.add_simulator``): WeChat's from the
core, the others from the areas that use them.
"""

from .wechat import WeChatSimulator


def build_simulators(catalogue, settings):
    """One simulator per system of the catalogue, accepting the credentials the settings hold."""
    return {name: kind.from_settings(settings, name) for name, kind in catalogue.simulators.items()}


def includeme(config):
    config.add_simulator("wechat", WeChatSimulator)
