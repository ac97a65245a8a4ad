"""Health check of the ID-card reader at the DESIGN §7 levels; reports carry no personal data.

internal: open the port, SAM status (`11 FF`) and SAM ID (`12 FF`) — no side effects.
external / interactive: also wait for a card and read it (the installer places a test card).
"""
from __future__ import annotations

from typing import Iterable

from devices.errors import DeviceAbsent, DeviceError, DeviceTimeout
from devices.idcard.reader import open_reader, read_card
from devices.idcard.status_codes import SamFault
from devices.model import DeviceErrorInfo, HealthLevel, HealthReport, Status


def _info(exc: DeviceError) -> DeviceErrorInfo:
    return DeviceErrorInfo(exc.code, exc.message, exc.action)


def health_check(port: str = "auto", baud: str | int = "auto", level: HealthLevel = HealthLevel.INTERNAL,
                 exclude_ports: Iterable[str] = (), card_timeout: float = 15.0) -> HealthReport:
    exclude = list(exclude_ports)
    report = HealthReport("idcard", Status.OFFLINE, level, {"port": port})
    try:
        reader = open_reader(port, baud, exclude)
    except SamFault as exc:
        report.status = Status.HARDWARE_ERROR
        report.errors.append(_info(exc))
        return report
    except DeviceAbsent as exc:
        report.status = Status.NO_DEVICE
        report.errors.append(_info(exc))
        return report
    except DeviceError as exc:
        report.errors.append(_info(exc))
        return report
    try:
        report.details.update(port=reader.port, baud=reader.baud, sam_id=reader.sam_id())
        report.status = Status.ONLINE
    except DeviceError as exc:
        report.errors.append(_info(exc))
    finally:
        reader.close()
    if level != HealthLevel.INTERNAL and report.status == Status.ONLINE:
        try:
            card = read_card(reader.port, reader.baud, timeout=card_timeout, exclude_ports=exclude)
            report.details.update(card_read=True, card_type=card.card_type, id_number_valid=card.id_number_valid,
                                  photo_bytes=len(card.photo))
        except DeviceTimeout as exc:
            report.details["card_read"] = False
            report.errors.append(_info(exc))
        except DeviceError as exc:
            report.details["card_read"] = False
            report.errors.append(_info(exc))
    return report
