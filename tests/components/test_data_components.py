"""Data components under Pulumi's mocks, and the checks their configs make before anything is registered."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.base.aws import AwsConfig
from components.data_network import DataNetwork, DataNetworkConfig
from components.kms_key import KmsKey, KmsKeyConfig
from components.redis_cache import RedisCache, RedisConfig, RedisGroup
from conventions.tags import tags
from settings.data import Redis
from testing.mocks import Recorder

TAGS = tags("prod", **{"backup-plan": "agent-platform-prod"})


class ArnRecorder(Recorder):
    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return {"arn": f"arn:aws:test:::{args.name}"}


def run(build: Any) -> Recorder:
    mocks = ArnRecorder()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    done: list[Any] = []
    pulumi.runtime.test(lambda: pulumi.Output.from_input(build()).apply(done.append))()
    assert done
    return mocks


def of_type(mocks: Recorder, type_token: str) -> dict[str, dict[str, Any]]:
    return mocks.of_type(type_token)


def test_a_network_outside_the_cluster_region_admits_only_the_cluster_cidrs() -> None:
    config = DataNetworkConfig(
        region="eu-west-1",
        tags=TAGS,
        vpc_id="vpc-1",
        subnet_ids=["subnet-a", "subnet-b"],
        client_cidrs=["10.30.0.0/16"],
    )
    mocks = run(lambda: DataNetwork("eu-data", config).security_group_ids["postgres"])
    rules = of_type(mocks, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert {(r["cidrIpv4"], r["fromPort"]) for r in rules.values()} == {("10.30.0.0/16", 5432), ("10.30.0.0/16", 6379)}
    assert all("referencedSecurityGroupId" not in r for r in rules.values())


def test_the_key_policy_admits_services_in_its_region_and_the_named_roles_only() -> None:
    role = "arn:aws:iam::333333333333:role/agent-platform-prod-velero"
    config = KmsKeyConfig(
        region="us-west-2",
        tags=TAGS,
        alias="alias/agent-platform-prod",
        account_id="333333333333",
        services=["rds", "backup"],
        role_arns=[role],
    )
    mocks = run(lambda: KmsKey("dr-kms", config).key_arn)
    (key,) = of_type(mocks, "aws:kms/key:Key").values()
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert key["enableKeyRotation"] is True
    assert statements["AccountAdministers"]["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
    via = statements["ServicesInRegion"]["Condition"]["StringEquals"]
    assert via["kms:ViaService"] == ["rds.us-west-2.amazonaws.com", "backup.us-west-2.amazonaws.com"]
    assert via["kms:CallerAccount"] == "333333333333"
    assert statements["NamedRoles"]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [role]}}


def test_cluster_mode_redis_shards_with_replicas_and_the_cluster_parameter_group() -> None:
    settings = Redis(cluster_mode=True, num_shards=3, num_nodes=2, multi_az=True)
    config = RedisConfig(
        region="us-east-1",
        tags=TAGS,
        replication_group_id="agents-prod",
        group=RedisGroup.of(settings),
        kms_key_arn="arn:aws:kms:us-east-1:1:key/k",
        subnet_group_name="sn",
        security_group_id="sg-1",
        users={"acme-prod": "acme"},
    )
    mocks = run(lambda: RedisCache("redis", config).arn)
    (group,) = of_type(mocks, "aws:elasticache/replicationGroup:ReplicationGroup").values()
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"]) == (3, 1)
    assert group["parameterGroupName"].endswith(".cluster.on") and group["clusterMode"] == "enabled"
    assert "numCacheClusters" not in group
    assert len(config.node_ids()) == 6


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: AwsConfig(region="us-east-1", tags={"environment": "prod"}),
            "lack ['managed-by']",
            id="tags without managed-by",
        ),
        pytest.param(
            lambda: AwsConfig(region="Frankfurt", tags=TAGS), "'Frankfurt' is not an AWS region name", id="bad region"
        ),
        pytest.param(
            lambda: DataNetworkConfig(
                region="us-east-1", tags=TAGS, vpc_id="v", subnet_ids=[], client_cidrs=["0.0.0.0/0"]
            ),
            "0.0.0.0/0 is not a private range",
            id="a public client range",
        ),
        pytest.param(
            lambda: RedisConfig(
                region="us-east-1",
                tags=TAGS,
                replication_group_id="r",
                group=RedisGroup.of(Redis(iam_auth=True, transit_encryption=False)),
                kms_key_arn="k",
                subnet_group_name="s",
                security_group_id="g",
            ),
            "IAM authentication needs transit encryption",
            id="redis IAM auth without TLS",
        ),
    ],
)
def test_configs_refuse_unsafe_values(build: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build()
