"""The canteen card (餐卡消费): for now the area itself and the canteen back office it will
talk to."""

from portal.integrations.contract import ContractClient
from portal.simulators.contract import ContractSimulator


def includeme(config):
    config.add_area("canteen", "餐卡消费")
    config.add_client("canteen", ContractClient, label="食堂管理后台")
    config.add_simulator("canteen", ContractSimulator)
