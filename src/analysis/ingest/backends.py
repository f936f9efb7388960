"""Connections to the row-level engines: DuckDB (embedded, the default) and Spark.

One place sets them up (DuckDB's memory limit, Spark's master and time zone), for the panel
(:mod:`analysis.ingest.panel`) and for reading and checking files in place
(:mod:`analysis.ingest.engine`); neither of those imports the other for it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from analysis.errors import InputError

if TYPE_CHECKING:  # ibis and pyspark are imported when a backend is opened (pyspark is an extra)
    from ibis.backends import BaseBackend
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")


def connect(engine: str = "duckdb", **config: Any) -> BaseBackend:
    """An Ibis backend for ``engine``.

    ``duckdb``: an in-memory database; ``config`` goes to DuckDB (``threads``, ``memory_limit``,
    ``temp_directory``...). ``spark``: the active ``SparkSession`` if there is one (a cluster job
    builds its own), otherwise a new one on ``KEYCLIENTS_SPARK_MASTER`` (default ``local[2]``) with
    the session time zone set to UTC, so period labels do not depend on the machine's zone.
    """
    import ibis

    if engine == "duckdb":
        limit = os.environ.get("KEYCLIENTS_DUCKDB_MEMORY_LIMIT")
        if limit and "memory_limit" not in config:  # e.g. "2GB": DuckDB spills to disk beyond it
            config["memory_limit"] = limit
        return ibis.duckdb.connect(**config)
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(**config))
    raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def spark_active() -> bool:
    """Whether a SparkSession is active in this process (then it is the caller's to stop)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return False
    return SparkSession.getActiveSession() is not None


def release(con: BaseBackend, *, stop_spark: bool = False) -> None:
    """Close an engine connection: DuckDB's always; Spark's session only with ``stop_spark`` (the
    caller started it: the JVM is not kept beside the pages), never a session it had already."""
    if con.name == "duckdb":
        con.disconnect()
    elif stop_spark and con.name == "pyspark":
        con.disconnect()


def spark_session(**config: Any) -> SparkSession:
    """The active SparkSession, or a new one (``KEYCLIENTS_SPARK_MASTER``, default ``local[2]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "--engine spark needs pyspark: pip install 'keyclients[spark]' (and Java 17)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = os.environ.get("KEYCLIENTS_SPARK_MASTER", "local[2]")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName("keyclients")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master.startswith("local"):  # a small local job: few shuffle partitions, no web UI or bars
        builder = (
            builder.config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
    for key, value in config.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # no Java, or the JVM did not start
        raise InputError(
            f"--engine spark: Spark did not start ({str(exc).splitlines()[0][:200]}); "
            "it needs Java 17 (JAVA_HOME) and pyspark"
        ) from None
