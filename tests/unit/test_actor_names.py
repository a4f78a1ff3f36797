"""Actor names are pinned: outbox rows, dead letters and messages in flight name them."""

#: Every actor name portal has ever recorded in an outbox row or a dead letter. Never remove
#: a name: a row written under it may still be retried.
RECORDED = (
    "le.sync_driver",
    "le.sync_vehicle",
    "le.push_entry_report",
    "le.sync_booking",
    "le.expire_booking",
    "le.push_signoff",
    "le.refresh_documents",
    "le.refresh_lanes",
    "mes.check_stock",
    "mes.refresh_stock",
    "ops.run_connectivity_check",
    "wechat.publish_menu",
    "wechat.send_notification",
)


def test_every_recorded_name_has_an_actor(broker):
    missing = [name for name in RECORDED if name not in broker.actors]
    assert missing == []
