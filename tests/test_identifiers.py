import pytest

from app.registry.identifiers import complete_12, has_non_ascii_digits, is_valid_bin, is_valid_iin, is_valid_kz_iban


@pytest.mark.parametrize("value", ["791028302728", "950440001673"])
def test_valid_examples_from_the_design(value):
    assert is_valid_iin(value) and is_valid_bin(value)


@pytest.mark.parametrize("value", ["791028302729", "79102830272", "7910283027280", "79102830272a", "", None,
                                   791028302728])
def test_invalid_identifiers(value):
    assert not is_valid_iin(value)


def test_second_weight_set_is_used_when_first_gives_ten():
    # Find an 11-digit prefix whose first-pass remainder is 10 and check the completed number validates.
    for n in range(10**10, 10**10 + 5000):
        digits = [int(c) for c in str(n)]
        if sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11 == 10:
            full = complete_12(str(n))
            if full:
                assert is_valid_iin(full)
                second = sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)) % 11
                assert full[-1] == str(second)
                return
    raise AssertionError("no prefix exercised the second weight set")


def test_a_changed_check_digit_is_detected():
    valid = "950440001673"
    assert [d for d in "0123456789" if is_valid_iin(valid[:11] + d)] == ["3"]


@pytest.mark.parametrize("iban, ok", [
    ("KZ86125KZT5004100100", True),
    ("KZ86 125K ZT50 0410 0100", True),
    ("KZ87125KZT5004100100", False),
    ("DE89370400440532013000", False),
    ("KZ86125KZT500410010", False),
])
def test_kz_iban(iban, ok):
    assert is_valid_kz_iban(iban) is ok


@pytest.mark.parametrize("value", ["７９１０２８３０２７２８", "٧٩١٠٢٨٣٠٢٧٢٨", "79102830272８", "۷۹۱۰۲۸۳۰۲۷۲۸"])
def test_only_ascii_digits_make_an_identifier(value):
    """Full-width / Arabic-Indic digits pass Python's \\d and int(); they must never pass as an IIN or BIN."""
    assert not is_valid_iin(value) and not is_valid_bin(value)
    assert has_non_ascii_digits(value)
    assert not has_non_ascii_digits("791028302728")


def test_iban_with_full_width_digits_is_refused():
    assert not is_valid_kz_iban("KZ８６125KZT5004100100")
    assert complete_12("７９１０２８３０２７２") is None
#: Worked out by hand from the published rule (weights 1..11, sum mod 11), NOT with the code under test,
#: so the registry tests' data builder (tests/registry/conftest.py: iin) is anchored to known-good values:
#: 150101600008: 1·1 + 5·2 + 0·3 + 1·4 + 0·5 + 1·6 + 6·7 + 0·8 + 0·9 + 0·10 + 0·11 = 63 ≡ 8 (mod 11)
#: 150101600107: 63 + 1·10 = 73 ≡ 7;  150101600206: 63 + 2·10 = 83 ≡ 6
#: 150102600102: 1 + 10 + 4 + 2·6 + 6·7 + 1·10 = 79 ≡ 2;  150106650001: 1 + 10 + 4 + 6·6 + 6·7 + 5·8 = 133 ≡ 1
HAND_CHECKED_IINS = {0: "150101600008", 1: "150101600107", 2: "150101600206", 901: "150102600102",
                     5000: "150106650001"}


def test_the_test_data_builder_makes_hand_checked_iins():
    from tests.registry.conftest import bad_iin, iin

    assert {n: iin(n) for n in HAND_CHECKED_IINS} == HAND_CHECKED_IINS
    assert all(is_valid_iin(value) for value in HAND_CHECKED_IINS.values())
    assert bad_iin(0) == "150101600009" and not is_valid_iin(bad_iin(0))
    assert complete_12("15010160000") == "150101600008"


#: Worked out by hand, for the rule's second pass (weights 3,4,5,6,7,8,9,10,11,1,2 when the first gives 10):
#: 01010150040: 0·1+1·2+0·3+1·4+0·5+1·6+5·7+0·8+0·9+4·10+0·11 = 87 ≡ 10, so the second pass:
#:              0·3+1·4+0·5+1·6+0·7+1·8+5·9+0·10+0·11+4·1+0·2 = 67 ≡ 1  →  010101500401
#: 01010154541: first pass 2+4+6+35+32+45+40+11 = 175 ≡ 10, second 4+6+8+45+40+55+4+2 = 164 ≡ 10  →  no IIN
def test_hand_checked_iins_of_the_second_pass():
    assert complete_12("01010150040") == "010101500401"
    assert [d for d in "0123456789" if is_valid_iin("01010150040" + d)] == ["1"]
    assert complete_12("01010154541") is None
    assert [d for d in "0123456789" if is_valid_iin("01010154541" + d)] == []


@pytest.mark.parametrize("typed", ["１４１０１８６１９０７９", "١٤١٠١٨٦١٩٠٧٩"])
def test_a_form_says_what_is_wrong_with_digits_of_another_script(app, typed):
    """Users probe: a valid IIN typed in full-width digits read "not 12 digits with a correct check digit"."""
    from app.engine.forms import parse_and_validate

    schema = {"type": "object", "properties": {"iin": {"type": "string", "format": "iin"}}}
    with app.test_request_context():
        _data, errors = parse_and_validate(schema, {"iin": typed})
        assert "ordinary digits 0–9" in errors["iin"]
        _data, errors = parse_and_validate(schema, {"iin": "141018619078"})
        assert "ordinary digits" not in errors["iin"] and "check digit" in errors["iin"]
