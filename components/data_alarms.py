"""DataAlarms: CloudWatch alarms on one region's data services, sent to an SNS topic the on-call receiver subscribes to.

CloudWatch alarms and their SNS actions must live in the region of the metric, so each data site has
its own topic. Redis metrics are per node; the node ids are derived the way ElastiCache names them.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base.aws import AwsConfig
from components.base.values import Value

GIB = 1024**3
PERIOD = 300
# RDS reports `ReplicaLag` only for read replicas, which the platform does not create (a Multi-AZ standby
# reports none), so only Redis replicas get a lag alarm.
LAG_METRICS = ("ReplicationLag",)


class AlarmThresholds(Value):
    """Where the alarms fire, and the on-call endpoint the topic delivers to (None: no subscriber)."""

    subscription_endpoint: str | None
    cpu_percent: float
    free_storage_gb: float
    connections: int
    redis_memory_percent: float
    redis_evictions: int
    redis_replication_lag_seconds: float


class DataAlarmsConfig(AwsConfig):
    topic_name: str
    kms_key_arn: Any = Field(
        description="pulumi.Input[str]: customer-managed key of the topic's region; its policy must let "
        "cloudwatch.amazonaws.com use it (KmsKeyConfig.publishers)."
    )
    thresholds: AlarmThresholds
    databases: list[str] = Field(default_factory=list, description="RDS instance identifiers.")
    redis_nodes: list[str] = Field(default_factory=list, description="Member cluster ids.")


class DataAlarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, config: DataAlarmsConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:DataAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        a = config.thresholds
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=config.topic_name,
            kms_master_key_id=config.kms_key_arn,
            tags=config.tags,
            opts=child,
        )
        if a.subscription_endpoint:
            # Only endpoints that confirm SNS subscriptions themselves are accepted (settings/checks/data.py).
            aws.sns.TopicSubscription(
                f"{name}-oncall",
                topic=self.topic.arn,
                protocol="https",
                endpoint=pulumi.Output.secret(a.subscription_endpoint),
                endpoint_auto_confirms=True,
                opts=child,
            )

        def alarm(
            role: str,
            namespace: str,
            metric: str,
            dimensions: dict[str, str],
            op: str,
            threshold: float,
            what: str,
            statistic: str = "Average",
        ) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{role}",
                name=f"{config.topic_name}-{role}",
                alarm_description=what,
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                period=PERIOD,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison_operator=op,
                threshold=threshold,
                # Lag is reported only by replicas, and which node is a replica changes on failover.
                treat_missing_data="notBreaching" if metric in LAG_METRICS else "missing",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=config.tags,
                opts=child,
            )

        above, below = "GreaterThanThreshold", "LessThanThreshold"
        for db in config.databases:
            dims: dict[str, Any] = {"DBInstanceIdentifier": db}
            rds = "AWS/RDS"
            alarm(f"{db}-cpu", rds, "CPUUtilization", dims, above, a.cpu_percent, f"{db}: CPU above {a.cpu_percent}%")
            alarm(
                f"{db}-free-storage",
                rds,
                "FreeStorageSpace",
                dims,
                below,
                a.free_storage_gb * GIB,
                f"{db}: free storage below {a.free_storage_gb} GiB",
            )
            alarm(
                f"{db}-connections",
                rds,
                "DatabaseConnections",
                dims,
                above,
                a.connections,
                f"{db}: more than {a.connections} connections",
            )
        cache = "AWS/ElastiCache"
        for node in config.redis_nodes:
            dims = {"CacheClusterId": node}
            alarm(
                f"{node}-memory",
                cache,
                "DatabaseMemoryUsagePercentage",
                dims,
                above,
                a.redis_memory_percent,
                f"{node}: memory above {a.redis_memory_percent}%",
            )
            alarm(
                f"{node}-evictions",
                cache,
                "Evictions",
                dims,
                above,
                a.redis_evictions,
                f"{node}: more than {a.redis_evictions} evictions in 5 minutes",
                statistic="Sum",
            )
            if len(config.redis_nodes) > 1:
                alarm(
                    f"{node}-replication-lag",
                    cache,
                    "ReplicationLag",
                    dims,
                    above,
                    a.redis_replication_lag_seconds,
                    f"{node}: replication lag above {a.redis_replication_lag_seconds}s",
                    statistic="Maximum",
                )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
