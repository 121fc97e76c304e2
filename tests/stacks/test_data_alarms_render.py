"""Every data alarm watches a metric its resource reports, so it can fire."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import STACKS
from tests.stacks.conftest import Rendered

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INSTANCE = "aws:rds/instance:Instance"


@pytest.mark.parametrize("stack", STACKS)
def test_replica_lag_alarms_only_on_read_replicas(data_render: Callable[[str], Rendered], stack: str) -> None:
    """RDS reports `ReplicaLag` only for read replicas ("For read replica configurations, the amount of time a
    read replica DB instance lags behind the source DB instance", RDS CloudWatch metrics); a Multi-AZ standby
    reports none, so with `treat_missing_data: notBreaching` such an alarm never fires."""
    r = data_render(stack)
    alarms = [a["inputs"] for a in r.of_type(ALARM) if a["inputs"]["namespace"] == "AWS/RDS"]
    assert alarms
    replicas = {i["inputs"]["identifier"] for i in r.of_type(INSTANCE) if i["inputs"].get("replicateSourceDb")}
    silent = [
        a["name"]
        for a in alarms
        if a["metricName"] == "ReplicaLag" and a["dimensions"]["DBInstanceIdentifier"] not in replicas
    ]
    assert not silent, f"ReplicaLag alarms on instances that are not read replicas: {silent}"
