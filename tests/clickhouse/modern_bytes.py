"""Bytes per span of the modern profile's span table, measured on a modern ClickHouse in this
process (chdb), for rows dumped from a legacy (18.16) server: the only server on the benchmark
machine is 18.16, and users run modern ones.

    python modern_bytes.py SPANS.native STATEMENTS.sql

SPANS.native: `SELECT * FROM weft.spans FORMAT Native` from the legacy server. STATEMENTS.sql:
the store's golden statements (crates/weft-clickhouse/src/golden/statements.sql), whose modern
`CREATE TABLE ... weft.spans` is the DDL a modern server gets; the two profiles list the same
columns in the same order and differ in types, so the rows go in by position, with the legacy
`Int64` nanoseconds turned into `DateTime64(9)`.

Prints `modern bytes per span: N` and the largest columns, after OPTIMIZE ... FINAL.
"""
import sys
import tempfile

from chdb import session


def modern_spans_table(statements_path: str) -> str:
    blocks = open(statements_path, encoding="utf-8").read().split("\n\n")
    for block in blocks:
        lines = block.strip().splitlines()
        if lines and lines[0] == "-- modern profile: migration" and "weft.spans (" in block:
            return "\n".join(lines[1:]).rstrip(";")
    raise SystemExit(f"no modern CREATE TABLE weft.spans in {statements_path}")


def query(db, sql: str) -> str:
    result = db.query(sql, "TSV")
    if result is not None and result.has_error():
        raise SystemExit(f"chdb: {result.error_message()}\n{sql}")
    return result.bytes().decode() if result is not None else ""


def main() -> int:
    native_path, statements_path = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as directory:
        db = session.Session(directory)
        query(db, "CREATE DATABASE IF NOT EXISTS weft")
        query(db, modern_spans_table(statements_path))
        # Staged first: read straight into the INSERT, file() would take the modern table's
        # types for the dump's columns.
        query(
            db,
            "CREATE TABLE weft.legacy_spans ENGINE = Memory AS "
            f"SELECT * FROM file('{native_path}', Native)",
        )
        query(
            db,
            "INSERT INTO weft.spans SELECT * REPLACE (fromUnixTimestamp64Nano(start_time) AS "
            "start_time) FROM weft.legacy_spans",
        )
        query(db, "DROP TABLE weft.legacy_spans")
        query(db, "OPTIMIZE TABLE weft.spans FINAL")
        rows = int(query(db, "SELECT count() FROM weft.spans").strip())
        size = int(
            query(
                db,
                "SELECT sum(data_compressed_bytes) FROM system.columns "
                "WHERE database = 'weft' AND table = 'spans'",
            ).strip()
        )
        print(f"modern rows: {rows}, modern bytes per span: {size / rows:.1f} ({query(db, 'SELECT version()').strip()})")
        print("largest modern columns (compressed bytes per span):")
        for line in query(
            db,
            f"SELECT name, round(data_compressed_bytes / {rows}, 1) FROM system.columns "
            "WHERE database = 'weft' AND table = 'spans' "
            "ORDER BY data_compressed_bytes DESC LIMIT 8",
        ).splitlines():
            print(f"  {line}")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
