"""Runs SQL statements on a modern ClickHouse in this process (chdb), in order, and prints
`ok <name>` per statement or `error <name>: <message>` and exits 1 at the first failure.

Input on stdin: a JSON list of [name, statement] pairs. Output of the last SELECT-like statement
is ignored: what is checked is that the server accepts every statement the store issues.
"""
import json
import sys
import tempfile

from chdb import session


def main() -> int:
    statements = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as directory:
        db = session.Session(directory)
        print(f"ok version {db.query('SELECT version()', 'CSV').bytes().decode().strip()}")
        for name, statement in statements:
            try:
                result = db.query(statement, "CSV")
                failure = result.error_message() if result is not None and result.has_error() else None
            except Exception as error:  # chdb raises its own error types
                failure = str(error)
            if failure:
                print(f"error {name}: {failure}")
                return 1
            print(f"ok {name}")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
