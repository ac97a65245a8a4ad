"""A 委托书 signed on paper, photographed under the document camera, as the image the hub keeps."""
from __future__ import annotations

MAX_SIGNATURE_BYTES = 280 * 1024  # the hub takes a signature image up to 300 KB


def paper_png(still) -> bytes:
    """A photographed paper 委托书 as a small black-on-white PNG (the hub keeps it as the signature)."""
    import cv2

    h, w = still.shape[:2]
    for longest in (1200, 900, 700, 500):
        scale = min(1.0, longest / max(h, w))
        grey = cv2.cvtColor(still, cv2.COLOR_BGR2GRAY) if still.ndim == 3 else still
        small = cv2.resize(grey, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
        ink = cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 31, 15)
        ok, png = cv2.imencode(".png", ink, [cv2.IMWRITE_PNG_COMPRESSION, 9, cv2.IMWRITE_PNG_BILEVEL, 1])
        if ok and len(png) <= MAX_SIGNATURE_BYTES:
            return png.tobytes()
    raise ValueError("the photographed 委托书 does not fit in 300 KB")
