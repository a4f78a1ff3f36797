import pytest

from portal import validation


def test_id_card_check_digit_and_birth_date():
    assert validation.id_card_ok("11010519491231002X")
    assert validation.id_card_ok("11010519491231002x")  # lower-case x is the same
    assert not validation.id_card_ok("110105194912310021")  # wrong check digit
    assert not validation.id_card_ok("110105194913310025")  # month 13
    assert not validation.id_card_ok("11010519491231002")  # 17 characters
    assert not validation.id_card_ok("")


@pytest.mark.parametrize("plate, ok", [
    ("闽A12345", True), ("闽AD12345", True), ("闽A12345D", True), ("闽AF1234X", False), ("闽a12345", True),
    ("闽I12345", False), ("XX12345", False), ("闽A1234", False), ("闽A·12345", True),
])
def test_plates_including_new_energy(plate, ok):
    assert validation.plate_ok(plate) is ok


def test_trailers_end_in_gua():
    assert validation.trailer_ok("闽A1234挂")
    assert not validation.trailer_ok("闽A12345")


def test_mobiles_and_masks():
    assert validation.mobile_ok("13800000000") and not validation.mobile_ok("12800000000")
    assert validation.mask_mobile("13812345678") == "138****5678"
    assert validation.mask_id_card("11010519491231002X") == "110***********002X"
