"""Issue 13, personal data in logs: database error texts lose their parameters and row details; case numbers
stay readable so a log line can be matched to its case."""
from __future__ import annotations

import logging
import sys

from sqlalchemy import text

from kiosk.hub.db import make_engine, migrate
from kiosk.logs import RedactingFormatter


def _format_exc(exc: BaseException, msg: str = "relay error") -> str:
    record = logging.LogRecord("kiosk.hub.relay", logging.ERROR, __file__, 1, msg, (), (type(exc), exc, exc.__traceback__))
    return RedactingFormatter().format(record)


def test_database_errors_lose_their_parameters(db_url):
    migrate(db_url)
    engine = make_engine(db_url)
    name, address = "欧阳娜娜", "陕西省西安市雁塔区小寨东路1号院3单元"
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cases (receipt_no, device_id, channel, item_code, item_name, applicant_name,"
                              " applicant_id_number, applicant_card_type, applicant_phone, applicant_address, form,"
                              " materials, delivery, submitted_at, status, attempts, next_attempt_at, created_by,"
                              " created_at, updated_at) VALUES (:r, 'K0001', 'kiosk', 'X', 'Y', :n, :i, '111', '', :a,"
                              " '{}', '[]', '自取', 'now', 'queued', 0, CURRENT_TIMESTAMP, 'me', CURRENT_TIMESTAMP,"
                              " CURRENT_TIMESTAMP)"),
                         {"r": "K0001-20261122-0001", "n": name, "i": "610113199001016789", "a": address})
            conn.execute(text("INSERT INTO cases (receipt_no, device_id, channel, item_code, item_name, applicant_name,"
                              " applicant_id_number, applicant_card_type, applicant_phone, applicant_address, form,"
                              " materials, delivery, submitted_at, status, attempts, next_attempt_at, created_by,"
                              " created_at, updated_at) VALUES (:r, 'K0001', 'kiosk', 'X', 'Y', :n, :i, '111', '', :a,"
                              " '{}', '[]', '自取', 'now', 'queued', 0, CURRENT_TIMESTAMP, 'me', CURRENT_TIMESTAMP,"
                              " CURRENT_TIMESTAMP)"),
                         {"r": "K0001-20261122-0001", "n": name, "i": "610113199001016789", "a": address})
    except Exception as exc:  # the duplicate receipt number
        line = _format_exc(exc)
    else:
        raise AssertionError("the duplicate insert succeeded")
    finally:
        engine.dispose()
    assert "parameters: redacted" in line
    for secret in (name, address, "610113199001016789", "小寨东路"):
        assert secret not in line, line


def test_detail_lines_of_postgresql_are_redacted():
    fake = ('(psycopg.errors.NotNullViolation) null value in column "x" violates not-null constraint\n'
            'DETAIL:  Failing row contains (1, 欧阳娜娜, 陕西省西安市雁塔区小寨东路1号).\n'
            "[SQL: INSERT INTO cases (applicant_name) VALUES (%(n)s)]\n"
            "[parameters: {'n': '欧阳娜娜', 'a': '陕西省西安市雁塔区\n小寨东路1号'}]\n"
            "(Background on this error at: https://sqlalche.me/e/20/gkpj)")
    try:
        raise RuntimeError(fake)
    except RuntimeError as exc:
        line = _format_exc(exc)
    assert "娜娜" not in line and "小寨东路" not in line
    assert "Background on this error" in line and "[SQL: INSERT INTO cases" in line


def test_case_numbers_and_receipt_numbers_stay_readable():
    record = logging.LogRecord("kiosk.hub.relay", logging.INFO, __file__, 1, "case relayed", (), None)
    record.case_no = "61011320261122000001"
    record.receipt_no = "K0001-20261122-0001"
    record.upload_id = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"
    record.applicant_name = "欧阳娜娜"
    line = RedactingFormatter().format(record)
    assert 'case_no="61011320261122000001"' in line
    assert 'upload_id="3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"' in line
    assert 'receipt_no="K0001-20261122-0001"' in line
    assert "娜娜" not in line
    # An ID number smuggled in as a "case number" is not an identifier: it is masked as usual.
    record.case_no = "610113 19900101 6789"
    assert "19900101" not in RedactingFormatter().format(record)
