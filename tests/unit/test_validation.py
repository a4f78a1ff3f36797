import pytest

from portal import validation

# Valid numbers: one ending in X, one in a digit.
ENDS_IN_X = "11010519491231002X"
ENDS_IN_DIGIT = "350102197001020012"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_id_card_check_digit_and_birth_date():
    assert validation.id_card_ok(ENDS_IN_X) and validation.id_card_ok(ENDS_IN_DIGIT)
    assert validation.id_card_ok("11010519491231002x")  # lower-case x is the same
    assert not validation.id_card_ok("110105194912310021")  # wrong check digit
    assert not validation.id_card_ok("110105194913310025")  # month 13
    assert not validation.id_card_ok("11010519491231002")  # 17 characters
    assert not validation.id_card_ok("")


@pytest.mark.parametrize("script", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
@pytest.mark.parametrize("number", [ENDS_IN_X, ENDS_IN_DIGIT, "110105194912310021", "350102197001020013"])
def test_the_same_number_in_any_digits_is_always_accepted_or_always_refused(script, number):
    """Issue 9, item 8: full-width digits passed when the check character was X and failed when
    it was a digit (\\d matched them, the check table did not)."""
    typed = number.translate(script)
    assert typed != number
    assert validation.id_card_ok(typed) is validation.id_card_ok(number)
    assert validation.normalise_id_card(typed) == number


@pytest.mark.parametrize("typed", [
    "１１０１０５１９４９１２３１００２ｘ",  # full-width, and a full-width lower-case x
    "110105 19491231 002x",
    "110105-1949-1231-002X",
    "１１０１０５\u3000١٩٤٩١٢٣١００２X",  # full-width and Arabic-Indic mixed, an ideographic space
])
def test_id_cards_come_to_one_normal_form(typed):
    assert validation.normalise_id_card(typed) == ENDS_IN_X and validation.id_card_ok(typed)


@pytest.mark.parametrize("typed", ["13800000000", "１３８００００００００", "١٣٨٠٠٠٠٠٠٠٠", "138 0000 0000", "138-0000-0000", "+8613800000000",
                                   "0086 138 0000 0000", "＋８６１３８００００００００"])
def test_mobiles_come_to_one_normal_form(typed):
    assert validation.normalise_mobile(typed) == "13800000000" and validation.mobile_ok(typed)


def test_mobiles_and_masks():
    assert validation.mobile_ok("13800000000") and not validation.mobile_ok("12800000000")
    assert not validation.mobile_ok("1３8000000000") and not validation.mobile_ok("+8512800000000")
    assert validation.mask_mobile("13812345678") == "138****5678"
    assert validation.mask_id_card(ENDS_IN_X) == "110***********002X"


@pytest.mark.parametrize("plate, ok", [
    ("闽A12345", True), ("闽AD12345", True), ("闽A12345D", True), ("闽AF1234X", False), ("闽a12345", True),
    ("闽I12345", False), ("XX12345", False), ("闽A1234", False), ("闽A·12345", True),
])
def test_plates_including_new_energy(plate, ok):
    assert validation.plate_ok(plate) is ok


@pytest.mark.parametrize("typed, plate", [
    ("闽Ａ１２３４５", "闽A12345"), ("闽ａ 123-45", "闽A12345"), ("闽AD١٢٣٤٥", "闽AD12345"), ("闽Ａ１２３４挂", "闽A1234挂"),
])
def test_plates_come_to_one_normal_form(typed, plate):
    assert validation.normalise_plate(typed) == plate
    assert validation.plate_ok(typed) or validation.trailer_ok(typed)


def test_trailers_end_in_gua():
    assert validation.trailer_ok("闽A1234挂")
    assert not validation.trailer_ok("闽A12345")


@pytest.mark.parametrize("typed, name", [
    ("张三", "张三"), ("  欧阳  修 ", "欧阳 修"), ("阿依古丽·买买提", "阿依古丽·买买提"), ("阿依古丽•买买提", "阿依古丽·买买提"),
    ("阿依古丽・买买提", "阿依古丽·买买提"), ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"), ("José García", "José García"), ("Zoë", "Zoë"),
])
def test_plausible_names_are_accepted_in_normal_form(typed, name):
    assert validation.normalise_name(typed) == name and validation.name_ok(name)


@pytest.mark.parametrize("typed", [
    "张", "张" * 33, "😀" * 32, "张三😀", "张\u202e三", "\u202e张三", "张\u200b三", "张三3", "张三！", "·张三", "张三·", "阿依古丽··买买提",
    "阿依古丽· 买买提", "张\ue000三",
], ids=repr)
def test_names_with_emoji_controls_digits_or_symbols_are_refused(typed):
    assert not validation.name_ok(validation.normalise_name(typed))


@pytest.mark.parametrize("text, hidden", [
    ("首次提货，下午到", False), ("第一行\n第二行\t缩进", False), ("👨\u200d🔧 检修", False), ("😀", False),
    ("入场\u202e事由", True), ("零宽\u200b空格", True), ("\ufeff开头", True), ("响铃\x07", True), ("私用\ue000", True),
    ("方向\u2066隔离\u2069", True),
], ids=repr)
def test_hidden_characters_in_free_text(text, hidden):
    assert validation.hidden_characters(text) is hidden
