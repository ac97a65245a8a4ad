"""The receipt's QR code under the document camera: its tracking URL carries the receipt number (…?r=<no>)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np


def receipt_no_from_text(text: str) -> str:
    """A receipt number from a QR payload (the tracking URL) or from what was typed."""
    text = (text or "").strip()
    if "://" in text:
        values = parse_qs(urlparse(text).query).get("r")
        return values[0].strip() if values else ""
    return text


def read_receipt_qr(image: np.ndarray) -> str:
    """The receipt number in the first QR code found in `image` (BGR or grey), or "" when there is none."""
    import cv2

    detector = cv2.QRCodeDetector()
    payload, _points, _ = detector.detectAndDecode(image)
    return receipt_no_from_text(payload) if payload else ""
