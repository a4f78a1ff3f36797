"""Every status is a LabelledEnum: stored as its value, shown with its Chinese label."""

import pytest

from portal.models.identity import UserStatus
from portal.models.logistics import BookingKind, BookingStatus, LaneStatus, LeEventResult, LeState, OrderStatus, VisitFactKind
from portal.models.meta import LabelledEnum
from portal.models.ops import DeadLetterStatus
from portal.models.sync import SyncState
from portal.models.wechat import NotificationKind

STATUSES = (
    BookingKind, BookingStatus, LaneStatus, LeState, OrderStatus, LeEventResult, VisitFactKind, UserStatus, DeadLetterStatus,
    SyncState, NotificationKind,
)


@pytest.mark.parametrize("kind", STATUSES, ids=lambda kind: kind.__name__)
def test_every_member_has_a_chinese_label_and_is_its_value(kind):
    assert issubclass(kind, LabelledEnum)
    for member in kind:
        assert member == member.value and kind(member.value) is member
        assert member.label and all("\u4e00" <= ch <= "\u9fff" for ch in member.label[:2])


def test_a_value_another_system_sends_that_we_do_not_know_is_shown_as_it_is():
    assert LaneStatus.label_of("maintenance") == "检修"
    assert LaneStatus.label_of("cleaning") == "cleaning"


def test_the_labels_are_the_ones_pages_showed_before():
    assert [s.label for s in BookingStatus] == ["核对库存中", "已登记", "登记被拒", "已入厂", "装车中", "已装车", "已出厂", "已取消", "已退卡"]
    assert (SyncState.pending.label, SyncState.synced.label, SyncState.failed.label) == ("同步中", "已同步", "同步失败")
    assert [s.label for s in LeState] == ["未推送", "已登记", "已退卡"]
    # An order without a shipped quantity waits (待发货) rather than 已开单 (issue 9, defect 7).
    assert [s.label for s in OrderStatus] == ["待发货", "已发货", "已签收"]
