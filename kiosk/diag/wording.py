"""The installer's words for the device errors the diag meets most: `devices/` speaks English with the details
of the moment; here each common code gets a message and an action in the report's language. A code not listed
keeps the device's own sentence."""
from __future__ import annotations

from kiosk.i18n import N_, gettext

# code → (message, action); placeholders: {port} {uri} {source}
WORDING: dict[str, tuple[str, str]] = {
    "no_port": (N_("the ID-card reader port {port} does not exist"),
                N_("plug the reader in (USB), check `ls -l /dev/idcard`; install deploy/udev/99-govkiosk.rules")),
    "no_port_auto": (N_("no serial port for the ID-card reader was found (looked for /dev/idcard, /dev/serial/by-id, ttyUSB, ttyACM)"),
                     N_("plug the reader in (USB) and install deploy/udev/99-govkiosk.rules; or set devices.idcard.port")),
    "no_reader": (N_("no ID-card reader answered on any serial port"),
                  N_("check that the reader is plugged in and powered; run `kiosk setup` to find it")),
    "permission_denied": (N_("no permission to open the ID-card reader port {port}"),
                          N_("add the kiosk user to the dialout group, or install the udev rules (deploy/udev)")),
    "port_busy": (N_("the ID-card reader port {port} is in use by another program"),
                  N_("stop the other program (the vendor's reader tool?) and try again")),
    "port_reserved": (N_("port {port} is configured for the printer, not the ID-card reader"),
                      N_("set devices.idcard.port to the reader's own port")),
    "no_answer": (N_("the ID-card reader on {port} does not answer"),
                  N_("check the reader's power and cable; set devices.idcard.baud = \"auto\"")),
    "port_lost": (N_("the ID-card reader on {port} was unplugged"), N_("plug the reader in again")),
    "no_card": (N_("no card was placed on the reader in time"), N_("place the test card flat on the reader and run the check again")),
    "printer_unreachable": (N_("the printer at {uri} cannot be reached"),
                            N_("check the printer's power and cable (or its network address), and devices.printer.uri")),
    "printer_not_found": (N_("the USB printer of {uri} is not plugged in"),
                          N_("check the USB cable; `lsusb` lists the printer's VID:PID; fix devices.printer.uri")),
    "printer_busy_or_denied": (N_("the USB printer of {uri} cannot be claimed"),
                               N_("install deploy/udev/99-govkiosk.rules (group lp) and replug; stop any CUPS queue on it")),
    "printer_port_missing": (N_("the printer port of {uri} does not exist"), N_("check the cable and devices.printer.uri")),
    "printer_port_denied": (N_("no permission to open the printer port of {uri}"),
                            N_("add the kiosk user to the lp/dialout group, or install the udev rules")),
    "printer_gone": (N_("the connection to the printer was lost"), N_("check the cable or network; reconnect the printer")),
    "printer_silent": (N_("the printer at {uri} does not answer the status query"),
                       N_("switch the printer on; for USB printers check the in/out endpoints in devices.printer.uri (e.g. ?in=0x81&out=0x03)")),
    "printer_write_timeout": (N_("the printer at {uri} took no data"),
                              N_("check the USB endpoints in devices.printer.uri (?in=0x81&out=0x03 on most 58/80 mm printers) and the cable")),
    "cover_open": (N_("the printer cover is open"), N_("close the printer cover")),
    "paper_empty": (N_("the printer is out of paper"), N_("load a new paper roll")),
    "paper_near_end": (N_("the paper roll is nearly used up"), N_("replace the paper roll soon; keep a spare roll at the kiosk")),
    "printer_offline": (N_("the printer is offline"), N_("press the printer's online/feed button or check its panel")),
    "status_one_way": (N_("this printer connection cannot report paper or cover"),
                       N_("prefer usb:// or tcp:// in devices.printer.uri so the kiosk sees paper out")),
    "camera_absent": (N_("the document camera {source} is not connected"),
                      N_("plug the camera in; check that the kiosk user is in the video group")),
    "camera_silent": (N_("the document camera {source} opened but gives no picture"),
                      N_("unplug and replug the camera; if it persists, replace its cable")),
    "camera_lost": (N_("the document camera {source} stopped sending pictures"),
                    N_("check the camera's USB cable; it reconnects by itself")),
    "camera_timeout": (N_("no picture from the document camera {source}"), N_("check the camera's USB cable, then try again")),
}


def device_error(code: str, message: str, action: str, lang: str, **values) -> tuple[str, str]:
    """(message, action) for a device error in `lang`; unknown codes keep the device's own words."""
    if code == "no_port" and values.get("port") in ("auto", ""):
        code = "no_port_auto"  # nothing to open at all, not one named port missing
    if values.get("source") in ("auto", ""):
        values["source"] = gettext(N_("(found automatically)"), lang)
    entry = WORDING.get(code)
    if entry is None:
        return message, action
    values = {k: v for k, v in values.items() if v is not None}
    try:
        return gettext(entry[0], lang).format(**values), gettext(entry[1], lang).format(**values)
    except (KeyError, IndexError):
        return message, action
