"""DataNetwork: where the data services of one region sit and who may reach them.

A DB subnet group and an ElastiCache subnet group on the private data subnets, and one security group
per service that admits its port only from the cluster: the node security group when the services
share the cluster's VPC and region, else the cluster's CIDRs (security groups cannot be referenced
across regions). Each admission is its own ingress rule resource (pulumi-aws v7), and there is no egress
rule: the data services never open connections.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from components.base.aws import AwsConfig

PORTS: dict[str, int] = {"postgres": 5432, "redis": 6379}


class DataNetworkConfig(AwsConfig):
    vpc_id: Any = Field(description="pulumi.Input[str]")
    subnet_ids: Any = Field(description="pulumi.Input[list[str]]: private data subnets in two or more AZs.")
    client_security_group_id: Any = Field(None, description="pulumi.Input[str]: the cluster's node security group.")
    client_cidrs: list[str] = Field(default_factory=list)

    @field_validator("client_cidrs")
    @classmethod
    def _private(cls, value: list[str]) -> list[str]:
        for cidr in value:
            network = ipaddress.ip_network(cidr)
            if not network.is_private:
                raise ValueError(f"{cidr} is not a private range; data services admit only the cluster")
        return value

    @model_validator(mode="after")
    def _one_client(self) -> DataNetworkConfig:
        if self.client_security_group_id is None and not self.client_cidrs:
            raise ValueError("give client_security_group_id or client_cidrs: someone must be able to connect")
        return self


class DataNetwork(pulumi.ComponentResource):
    db_subnet_group_name: pulumi.Output[str]
    cache_subnet_group_name: pulumi.Output[str]
    security_group_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, config: DataNetworkConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:DataNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.db_subnets = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            name=f"{name}-db",
            description="Private data subnets for PostgreSQL",
            subnet_ids=config.subnet_ids,
            tags=config.tags,
            opts=child,
        )
        self.cache_subnets = aws.elasticache.SubnetGroup(
            f"{name}-cache-subnets",
            name=f"{name}-cache",
            description="Private data subnets for Redis",
            subnet_ids=config.subnet_ids,
            tags=config.tags,
            opts=child,
        )
        self.security_group_ids = {}
        for service, port in PORTS.items():
            group = aws.ec2.SecurityGroup(
                f"{name}-{service}-sg",
                name=f"{name}-{service}",
                description=f"{service} {port} from the agent cluster only",
                vpc_id=config.vpc_id,
                revoke_rules_on_delete=True,
                tags={**config.tags, "Name": f"{name}-{service}"},
                opts=child,
            )
            sources: list[tuple[str, dict[str, Any]]] = []
            if config.client_security_group_id is not None:
                sources.append(("nodes", {"referenced_security_group_id": config.client_security_group_id}))
            sources += [(f"cidr-{i}", {"cidr_ipv4": cidr}) for i, cidr in enumerate(config.client_cidrs)]
            for role, source in sources:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{service}-from-{role}",
                    security_group_id=group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"{service} from the agent cluster",
                    tags=config.tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[group]),
                    **source,
                )
            self.security_group_ids[service] = group.id
        self.db_subnet_group_name = self.db_subnets.name
        self.cache_subnet_group_name = self.cache_subnets.name
        self.register_outputs(
            {
                "db_subnet_group_name": self.db_subnet_group_name,
                "cache_subnet_group_name": self.cache_subnet_group_name,
                "security_group_ids": self.security_group_ids,
            }
        )
