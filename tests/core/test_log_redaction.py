"""Nothing personal leaves through the logs, whatever form it takes (DESIGN §6)."""
import io
import logging

import pytest

from kiosk.logs import RedactingFormatter
from kiosk.privacy.masking import scrub, sensitive_values

ID = "610324199001010063"
SECRETS = [ID, "13712349050", "12345678", "张三丰", "陕西省西安市周至县二曲街道", "USA123456789012", "H12345678",
           "123456789012345", "205f094e", "0a4e", "SMITH"]


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    logger = logging.getLogger("test.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    sensitive_values.clear()


def ucs2_hex(text: str) -> str:
    return text.encode("utf-16-le").hex()


FORMS = [
    f"plain {ID}",
    "spaced 6103 2419 9001 0100 63",
    "dashed 610324-19900101-0063",
    "full-width ６１０３２４１９９００１０１００６３",
    "lowercase-x 61032419900101006x",
    "mobile 13712349050 and +86 137 1234 9050",
    "landline 029-12345678",
    "foreigner 2017 USA123456789012",
    "old id 123456789012345",
    "pass H12345678 and M1234567890",
    "frame " + " ".join(f"{b:02x}" for b in b"\xaa\xaa\xaa\x96\x69\x05\x08\x00\x00\x90" + "张三丰".encode("utf-16-le")),
    "ucs2 " + ucs2_hex("张三丰陕西省西安市周至县二曲街道"),
    "bytes " + repr(b"\xaa\xaa\xaa\x96i\x05\x08\x00\x00\x90" + "张三丰".encode("utf-16-le")),
    "name=张三丰 address=陕西省西安市周至县二曲街道",
    "姓名：张三丰，住址：陕西省西安市周至县二曲街道",
    "KeyError: 'name_en': 'SMITH JOHN'".replace("'name_en': ", "name_en="),
]


@pytest.mark.parametrize("text", FORMS)
def test_pattern_filter_catches_every_form(capture, text):
    logger, stream = capture
    logger.info(text)
    out = stream.getvalue()
    for secret in SECRETS:
        assert secret not in out, (secret, out)


def test_exception_text_with_session_values_is_masked(capture):
    logger, stream = capture
    sensitive_values.add("name", "欧阳娜娜")
    sensitive_values.add("address", "陕西省西安市周至县二曲街道")
    try:
        raise ValueError("cannot print receipt for 欧阳娜娜 living at 陕西省西安市周至县二曲街道 id 610324199001010063")
    except ValueError:
        logger.exception("print failed")
    out = stream.getvalue()
    assert "欧阳娜娜" not in out and "二曲街道" not in out and ID not in out
    assert "欧***" in out
    assert "Traceback" in out  # the traceback itself is kept, only the values are masked


def test_structured_fields_are_masked_by_name(capture):
    logger, stream = capture
    logger.info("card read", extra={"citizen_name": "张三丰", "id_number": ID, "phone": "13712349050", "frame": "aaaaaa96"})
    out = stream.getvalue()
    assert 'citizen_name="张**"' in out and "6*************0063" in out and "137****9050" in out
    assert "aaaaaa96" not in out


def test_scrub_leaves_ordinary_text_alone():
    text = "receipt K0001-20261122-0001 printed in 123 ms, 3 pages"
    assert scrub(text) == text
