"""The engines a portable pipeline runs on: DuckDB (embedded default) and Spark (for scale).

A pipeline is one Ibis expression over named tables. An :class:`Engine` registers those names
(Parquet files read with a glob, small Arrow tables such as the policy bands), runs the SQL
that Ibis compiles for its dialect, and hands back the few result rows as dictionaries. Ibis
is used as a compiler only: execution goes through each engine's own API, so no rows pass
through pandas and no engine needs an Ibis connection object.

Every failure of an engine becomes one of our errors here, at the boundary: unreadable or
missing files are :class:`~mvnoguard.errors.DataFileError`, a missing pyspark or Java is a
:class:`~mvnoguard.errors.ConfigurationError` that says the fix. Engine messages can quote
data values (numbers, tokens), so only their first line is kept, with quoted text and long
digit runs redacted.

Spark starts only when asked for, with ``local[2]``, UTC session time, few shuffle partitions
and quiet logs. :func:`local_spark` is the context manager that owns a session;
:func:`open_engine` reuses the active session when there is one and stops only a session it
started itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import duckdb
import pyarrow as pa

from mvnoguard.errors import ConfigurationError, DataFileError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "DuckDBEngine",
    "Engine",
    "EngineName",
    "SparkEngine",
    "local_spark",
    "open_engine",
    "redact",
]

EngineName = Literal["duckdb", "spark"]

# DuckDB's own default is 80% of the machine's memory; a pipeline over 100 million records
# would take it. Past this it spills to its temporary folder instead (None: DuckDB's default).
DEFAULT_MEMORY_LIMIT = "6GB"

SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.adaptive.enabled": "true",
}

# Spark prints INFO/WARN lines to the console until it is told otherwise; this configuration is
# handed to the driver JVM at launch, so even the start-up lines stay quiet.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# A failed task is reported once, as our error; not again as Java stack traces.
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
"""


class Engine(Protocol):
    """What a pipeline needs from an engine."""

    dialect: str

    def register_parquet(self, name: str, pattern: str) -> None:
        """Expose the Parquet files matching ``pattern`` (a path or glob) as table ``name``."""

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Expose a small in-memory table as ``name``."""

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        """Run one query and return its (few) rows."""

    def write_parquet(self, sql: str, folder: Path) -> None:
        """Run one query and write its (many) rows as Parquet files into ``folder``."""

    def drop(self, name: str) -> None:
        """Forget a registered table."""


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_DIGITS = re.compile(r"\d{6,}")
_SPARK_ERROR_CLASS = re.compile(r"\[([A-Z][A-Z_]+(?:\.[A-Z][A-Z_]+)*)\]")


def redact(message: str) -> str:
    """The first line of an engine message, without quoted text or long digit runs."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return _DIGITS.sub("…", _QUOTED.sub("'…'", first))[:300]


# --------------------------------------------------------------------------------------- DuckDB


class DuckDBEngine:
    """An in-memory DuckDB database; spills to a private temporary folder under memory pressure."""

    dialect = "duckdb"

    def __init__(
        self, *, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, threads: int | None = None
    ) -> None:
        self._spill = Path(tempfile.mkdtemp(prefix="mvnoguard-duckdb-"))
        config: dict[str, str | bool | int | float | list[str]] = {
            "temp_directory": str(self._spill),
        }
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        if threads is not None:
            config["threads"] = threads
        try:
            self._con = duckdb.connect(":memory:", config=config)
            self._con.execute("SET enable_progress_bar = false")  # the CLI draws its own
            # Casts of timestamps to dates and hours follow the session's zone, which DuckDB
            # takes from the machine: pinned to UTC, like the Spark engine, so a machine set
            # to Beijing time buckets calls on the same days as any other.
            self._con.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            shutil.rmtree(self._spill, ignore_errors=True)
            raise ConfigurationError(f"cannot start DuckDB: {redact(str(exc))}") from exc

    def register_parquet(self, name: str, pattern: str) -> None:
        with _duckdb_errors(f"cannot read Parquet files {pattern}"):
            relation = self._con.read_parquet(pattern, union_by_name=True)
            relation.create_view(name, replace=True)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        # Copied into a temporary table, not registered as an Arrow scan: the optimizer knows
        # a table's size, and misjudges joins when it has to guess an Arrow scan's.
        with _duckdb_errors(f"cannot register table {name}"):
            self._con.from_arrow(table).create(name)

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        with _duckdb_errors("the DuckDB query failed"):
            cursor = self._con.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def write_parquet(self, sql: str, folder: Path) -> None:
        _fresh_folder(folder)
        target = str(folder / "part-0.parquet").replace("'", "''")
        with _duckdb_errors("the DuckDB query failed"):
            self._con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")

    def drop(self, name: str) -> None:
        with contextlib.suppress(duckdb.Error):
            self._con.execute(f'DROP VIEW IF EXISTS "{name}"')
        with contextlib.suppress(duckdb.Error):
            self._con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        self._con.close()
        shutil.rmtree(self._spill, ignore_errors=True)


@contextlib.contextmanager
def _duckdb_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        raise DataFileError(f"{what}: {redact(str(exc))}") from exc
    except duckdb.OutOfMemoryException as exc:
        raise ConfigurationError(
            f"{what}: DuckDB ran out of memory; raise its memory limit or free disk space "
            f"for spilling ({redact(str(exc))})"
        ) from exc
    except duckdb.Error as exc:
        raise DataFileError(f"{what}: {redact(str(exc))}") from exc


# ---------------------------------------------------------------------------------------- Spark


class SparkEngine:
    """A Spark session's SQL; temporary views get unique names, so sessions can be shared."""

    dialect = "pyspark"

    def __init__(self, session: SparkSession) -> None:
        self._session = session

    def register_parquet(self, name: str, pattern: str) -> None:
        with _spark_errors(f"cannot read Parquet files {pattern}"):
            self._session.read.parquet(pattern).createOrReplaceTempView(name)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        with _spark_errors(f"cannot register table {name}"):
            self._session.createDataFrame(table).createOrReplaceTempView(name)

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        with _spark_errors("the Spark query failed"), warnings.catch_warnings():
            # pyspark leaves the socket a result arrives on to the garbage collector
            # (pyspark.util._load_from_socket), which Python reports as a ResourceWarning the
            # moment collect() returns; it is pyspark's, not a leak of ours.
            warnings.filterwarnings(
                "ignore", message=r"unclosed <socket\.socket", category=ResourceWarning
            )
            return [row.asDict() for row in self._session.sql(sql).collect()]

    def write_parquet(self, sql: str, folder: Path) -> None:
        _fresh_folder(folder)
        with _spark_errors("the Spark query failed"):
            self._session.sql(sql).write.mode("overwrite").parquet(str(folder))

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self._session.catalog.dropTempView(name)


def _fresh_folder(folder: Path) -> None:
    """An empty ``folder`` for a query's output: earlier output there is replaced, not added to."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def _require_pyspark() -> None:
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigurationError(
            "the spark engine needs pyspark: pip install 'mvnoguard[spark]' (and Java 17+)"
        )


@contextlib.contextmanager
def _spark_errors(what: str) -> Iterator[None]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as exc:
        raise DataFileError(f"{what}: {redact(str(exc))}") from exc
    except Py4JError as exc:
        # The Java side's message carries a stack trace and possibly data; its error classes
        # (``[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER]``) say what went wrong, and only that.
        classes = dict.fromkeys(_SPARK_ERROR_CLASS.findall(str(exc)))
        reason = ", ".join(classes) or type(exc).__name__
        raise DataFileError(f"{what}: the Spark job failed ({reason})") from exc


@contextlib.contextmanager
def local_spark(
    *,
    cores: int = 2,
    shuffle_partitions: int = 4,
    app_name: str = "mvnoguard",
    extra_conf: dict[str, str] | None = None,
    java_options: str = "",
) -> Iterator[SparkSession]:
    """Start a local Spark session for the block, and stop it afterwards.

    ``extra_conf`` adds or overrides Spark settings; ``java_options`` are added to the driver
    JVM's command line (tests use them to trade peak speed for a faster warm-up).
    """
    _require_pyspark()
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    scratch = Path(tempfile.mkdtemp(prefix="mvnoguard-spark-"))
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2, encoding="utf-8")
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    conf = {
        **SPARK_CONF,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(cores),
        "spark.local.dir": str(scratch),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": (
            f"-Dlog4j2.configurationFile={log_config.as_uri()} {java_options}".strip()
        ),
        **(extra_conf or {}),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except (PySparkException, OSError) as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ConfigurationError(
            "cannot start Spark: it needs Java 17+ on PATH or JAVA_HOME "
            f"({type(exc).__name__}: {redact(str(exc))})"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def open_engine(name: EngineName) -> Iterator[Engine]:
    """The named engine for one pipeline run.

    ``spark`` reuses the active session (a test fixture's, an application's) and leaves it
    running; without one it starts a local session and stops it at the end.
    """
    if name == "duckdb":
        engine = DuckDBEngine()
        try:
            yield engine
        finally:
            engine.close()
    elif name == "spark":
        _require_pyspark()
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            yield SparkEngine(active)
        else:
            with local_spark() as session:
                yield SparkEngine(session)
    else:
        raise ConfigurationError(f"unknown engine {name!r}: use 'duckdb' or 'spark'")


def unique_name(stem: str) -> str:
    """A table name no other run on the same engine uses."""
    return f"mvg_{stem}_{uuid.uuid4().hex[:12]}"
