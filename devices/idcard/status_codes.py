"""SW3 status codes of the GA 467 SAM and the typed error each one raises (reference §4).

Decide on SW3 only: SW1/SW2 carry the card's APDU status on card-side failures and may be anything.
"""
from __future__ import annotations

from devices.errors import DeviceError, InvalidData

# GA 467 SAM_V 表 10 "SW1、SW2、SW3" (reference §4)
SW3_OK = 0x90
SW3_FIND_OK = 0x9F
SW3_NO_CONTENT = 0x91
SW3_NO_CARD = 0x80
SW3_SELECT_FAILED = 0x81
SW3_READ_FAILED = 0x41

SW3_TEXT = {
    0x90: "操作成功 (success)",
    0x9F: "寻找证/卡成功 (card found)",
    0x91: "证/卡中此项无内容 (item not on the card)",
    0x10: "接收业务终端数据的校验和错 (the reader received a frame with a bad checksum)",
    0x11: "接收业务终端数据的长度错 (the reader received a frame with a bad length)",
    0x21: "接收业务终端的命令错 (the reader does not know this command)",
    0x23: "越权操作 (operation not permitted)",
    0x24: "无法识别的错误 (unrecognised error)",
    0x31: "证/卡认证SAM失败 (the card did not accept the security module)",
    0x32: "SAM认证证/卡失败 (the security module did not accept the card)",
    0x33: "信息验证错误 (card data failed verification)",
    0x40: "无法识别的卡类型 (unrecognised card type)",
    0x41: "读证/卡操作失败 (reading the card failed)",
    0x47: "取随机数失败 (card random number failed)",
    0x60: "SAM自检失败，不能接收命令 (security module self-test failed)",
    0x66: "SAM未经授权 (security module not authorised)",
    0x80: "寻找证/卡失败 (no card on the reader)",
    0x81: "选取证/卡失败 (selecting the card failed)",
}

HOST_FRAME_ERRORS = {0x10, 0x11, 0x21, 0x23, 0x24}
CARD_REJECTED = {0x31, 0x32, 0x33, 0x40, 0x47}
TRANSIENT = {SW3_READ_FAILED, SW3_SELECT_FAILED}  # retried: the card moved or the RF link hiccuped
SAM_FAULTS = {0x60, 0x66}


class SamError(DeviceError):
    """The SAM answered with a status other than success; `sw3` says which."""

    def __init__(self, sw3: int, command: str, message: str, action: str) -> None:
        super().__init__(f"sam_{sw3:02x}", message, action)
        self.sw3 = sw3
        self.command = command


class NoCard(SamError):
    """SW3 80: nothing on the reader (a normal answer while polling)."""


class CardReadFailed(SamError):
    """SW3 41 / 81: transient; retried a few times before it is reported."""


class NoContent(SamError):
    """SW3 91: the card has no such item (e.g. no appended address)."""


class CardRejected(SamError, InvalidData):
    """SW3 31/32/33/40/47: the card failed authentication or is of an unknown type."""

    exit_code = 5


class HostFrameRejected(SamError):
    """SW3 10/11/21/23/24: the reader did not accept our frame."""


class SamFault(SamError):
    """SW3 60/66: the security module itself is faulty or not authorised."""


_ACTIONS = {
    0x80: "place the ID card flat on the reader and hold it still",
    0x81: "hold the card still on the reader; if it keeps failing, take it off and place it again",
    0x41: "hold the card still on the reader until it has been read; if it keeps failing, take it off and place it again",
    0x91: "nothing to do: the card has no such item",
    0x31: "the card could not be authenticated: try again; if it keeps failing, the card may be damaged or not genuine",
    0x32: "the card could not be authenticated: try again; if it keeps failing, the card may be damaged or not genuine",
    0x33: "the card data failed verification: try again; if it keeps failing, the card may be damaged",
    0x40: "this is not a supported ID card: use a resident ID card or a residence/permanent-residence card",
    0x47: "the card did not answer properly: take it off and place it again",
    0x60: "the reader's security module failed its self-test: power-cycle the reader; if it persists, replace the reader",
    0x66: "the reader's security module is not authorised: the reader needs service by its vendor",
}
_HOST_ACTION = "the reader rejected our frame: check the cable and baud rate; if it persists, report it to the maintainer"


def error_for_sw3(sw3: int, command: str, sw1: int = 0, sw2: int = 0) -> SamError:
    """The typed error for a non-success SW3 answer to `command`."""
    text = SW3_TEXT.get(sw3, f"unknown status {sw3:02X}")
    message = f"ID-card reader: {command}: {text} [SW3 {sw3:02X}]"
    if sw3 == SW3_NO_CARD:
        cls = NoCard
    elif sw3 in TRANSIENT:
        cls = CardReadFailed
    elif sw3 == SW3_NO_CONTENT:
        cls = NoContent
    elif sw3 in CARD_REJECTED:
        cls = CardRejected
    elif sw3 in SAM_FAULTS:
        cls = SamFault
    else:
        cls = HostFrameRejected
    return cls(sw3, command, message, _ACTIONS.get(sw3, _HOST_ACTION))


def is_success(sw3: int) -> bool:
    return sw3 in (SW3_OK, SW3_FIND_OK)
