"""Visitor reservation (访客预约): for now the area itself, the WeChat users' admin page
(公众号用户管理, where staff who approve visitors are named) and the systems it will talk to."""

from portal.integrations.contract import ContractClient
from portal.simulators.contract import ContractSimulator


def includeme(config):
    config.add_area("visitors", "访客预约")
    config.add_client("park", ContractClient, label="园区管委会访客平台")
    config.add_client("sms", ContractClient, label="短信平台")
    config.add_simulator("park", ContractSimulator)
    config.add_simulator("sms", ContractSimulator)

    config.add_route("admin.wechat_users", "/admin/wechat-users")
    config.add_route("admin.wechat_user", r"/admin/wechat-users/{id:\d+}")
    config.scan("portal.views.admin.visitors")
    config.add_admin_nav("公众号用户", "admin.wechat_users", area="visitors")
