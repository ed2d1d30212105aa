"""Airflow DAGs that keep an archtics warehouse up to date.

One task per stage, each a plain `archtics` command run by a BashOperator:

  archtics_load_dump    once          load-dump (the team's first full dump), then the
                                      initial CRM dedup (dedup --crm, the client's CRM)
  archtics_incremental  hourly        incremental --until {{ data_interval_end }}, then
                                      dedup (new and changed accounts, all teams) and
                                      realtime refresh (stored scans' holders and names
                                      brought up to the clone)
  archtics_realtime     every 3 min   realtime tick --at {{ data_interval_end }}
  archtics_maintenance  daily         compact, realtime rollup and expire, then
                                      vacuum, then verify

Every stage is idempotent for its logical time: a retry, a rerun or a
backfill of the same interval commits nothing twice (incremental stops its
watermark at --until; a tick at the same --at finds its scans committed;
compact, vacuum and verify converge). That is what makes `retries` safe.
A task killed by Airflow's timeout gets SIGTERM: archtics stops within
seconds, commits nothing partial, and exits 143; exit 3 is a commit
conflict (another writer won): the retry picks up from the new state.

Logs are JSON lines on stderr (--log-format json), one object per event.
ARCHTICS_METRICS_FILE (--metrics-file) writes the Prometheus text format after each stage, for
node_exporter's textfile collector.

Secrets come from the environment of the worker, never from the command
line: ARCHTICS_SOURCE_TOKEN (the change API's bearer token), AWS_*
(credentials, AWS_REGION, AWS_ENDPOINT_URL for an S3-compatible store).
Set them in the worker's environment or through a secrets backend; the
`env` below only passes them through.

A Go test (cmd/archtics/airflow_dag_test.go) checks that every `archtics`
command line in this file names a command and flags that exist.
"""

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

TEAM = os.environ.get("ARCHTICS_TEAM", "nhl")
# Passed through to every task: the warehouse, the source, the secrets.
ENV = {
    name: os.environ[name]
    for name in (
        "ARCHTICS_WAREHOUSE",  # s3://bucket/prefix or a local folder
        "ARCHTICS_SOURCE_URL",  # the change API and scan feed's base URL
        "ARCHTICS_SOURCE_TOKEN",  # bearer token: a secret
        "ARCHTICS_DUMP",  # the full dump's folder or s3:// prefix
        "ARCHTICS_CRM_DIR",  # the client's CRM export (contacts.csv, accounts.csv), for the first dedup
        "ARCHTICS_CACHE",  # local cache of verified files
        "ARCHTICS_METRICS_FILE",  # e.g. /var/lib/node_exporter/textfile/archtics.prom
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "PATH",
        "HOME",
    )
    if name in os.environ
}

# Each command is one line, so the Go test reads it as the shell will.
# Airflow renders the {{ ... }} templates; ${VARS} come from ENV, and bash
# stops with "VAR: parameter null or not set" when a required one is unset. The warehouse
# (ARCHTICS_WAREHOUSE), the token (ARCHTICS_SOURCE_TOKEN), the cache
# (ARCHTICS_CACHE) and --metrics-file (ARCHTICS_METRICS_FILE) are read from
# the environment by archtics itself.
COMMANDS = {
    "load_dump": "archtics --log-format json load-dump --dump ${ARCHTICS_DUMP:?} --team {{ params.team }}",
    "incremental": "archtics --log-format json incremental --team {{ params.team }} --source ${ARCHTICS_SOURCE_URL:?} --until {{ data_interval_end | ts }}",
    "realtime_tick": "archtics --log-format json realtime tick --team {{ params.team }} --source ${ARCHTICS_SOURCE_URL:?} --at {{ data_interval_end | ts }}",
    "dedup_initial": "archtics --log-format json dedup --crm ${ARCHTICS_CRM_DIR:?} --exclude-acct-type Broker --exclude-acct-type Test",
    "dedup": "archtics --log-format json dedup",
    "compact": "archtics --log-format json compact --team {{ params.team }}",
    "realtime_refresh": "archtics --log-format json realtime refresh --team {{ params.team }}",
    "realtime_rollup": "archtics --log-format json realtime rollup --team {{ params.team }}",
    "realtime_expire": "archtics --log-format json realtime expire --team {{ params.team }} --at {{ data_interval_end | ts }}",
    "vacuum": "archtics --log-format json vacuum --json",
    "verify": "archtics --log-format json verify --json",
}

DEFAULTS = {
    "owner": "data",
    "retries": 3,  # safe: every stage is idempotent for its interval
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "env": ENV,
    "append_env": False,
}


def stage(task_id, timeout):
    return BashOperator(
        task_id=task_id,
        bash_command=COMMANDS[task_id],
        execution_timeout=timeout,
    )


with DAG(
    "archtics_load_dump",
    schedule="@once",
    start_date=datetime(2026, 11, 17),
    catchup=False,
    default_args=DEFAULTS,
    params={"team": TEAM},
):
    stage("load_dump", timedelta(hours=2)) >> stage("dedup_initial", timedelta(hours=2))

with DAG(
    "archtics_incremental",
    schedule="@hourly",
    start_date=datetime(2026, 11, 17),
    catchup=True,  # backfills replay each hour: idempotent by --until
    max_active_runs=1,  # one writer per clone; a conflict would only retry
    default_args=DEFAULTS,
    params={"team": TEAM},
):
    # realtime refresh commits on the realtime stream: should a tick commit
    # first, it exits 3 and the retry starts from the new head.
    stage("incremental", timedelta(minutes=40)) >> [stage("dedup", timedelta(minutes=15)), stage("realtime_refresh", timedelta(minutes=15))]

with DAG(
    "archtics_realtime",
    schedule="*/3 * * * *",
    start_date=datetime(2026, 11, 17),
    catchup=False,  # realtime tick catches missed scans up itself
    max_active_runs=1,
    default_args=DEFAULTS,
    params={"team": TEAM},
):
    stage("realtime_tick", timedelta(minutes=3))

with DAG(
    "archtics_maintenance",
    schedule="@daily",
    start_date=datetime(2026, 11, 17),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULTS,
    params={"team": TEAM},
):
    (
        stage("compact", timedelta(hours=1))
        >> stage("realtime_rollup", timedelta(hours=1))
        >> stage("realtime_expire", timedelta(hours=1))
        >> stage("vacuum", timedelta(hours=1))
        >> stage("verify", timedelta(hours=1))
    )
