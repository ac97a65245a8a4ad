"""Personal-information protection: one masking module for screens, receipts, CLI output and logs (DESIGN §6)."""

from kiosk.privacy.masking import (  # noqa: F401
    mask_address,
    mask_document_number,
    mask_landline,
    mask_mobile,
    mask_name,
    mask_phone,
    mask_value,
    scrub,
)
