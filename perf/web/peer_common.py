"""What bench_web's Python peers share: the database's address and the queries parameter."""
import os


def connect_args():
    """asyncpg's keyword arguments for SPINDLE_PG ("host=... port=... user=... dbname=...")."""
    fields = dict(item.split("=", 1) for item in os.environ["SPINDLE_PG"].split())
    return {"host": fields.get("host"), "port": int(fields.get("port", 5432)),
            "user": fields.get("user"), "database": fields.get("dbname")}


def queries_param(value):
    """The specification's reading: 1 to 500, 1 when absent or not a number."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), 500)
