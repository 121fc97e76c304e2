"""The data services as the offline render registers them, checked against each stack's own settings."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from settings.base import is_eu_region
from tests.conftest import STACKS
from tests.manifest_schemas import validate_objects
from tests.stacks.conftest import Rendered, cluster_value

RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
SECRET_INPUTS = {"password", "passwordWo", "authToken", "authTokenWo", "passwords", "passwordsWo", "secretString"}

Render = Callable[[str], Rendered]


def walk_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in walk_keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in walk_keys(item)}
    return set()


@pytest.mark.parametrize("stack", STACKS)
def test_postgres_inputs_follow_the_stack_settings(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    pg, protect = r.settings.data.postgres, r.settings.data.protect
    instances = r.of_type(RDS)
    assert instances
    for db in instances:
        i = db["inputs"]
        region = r.region(db)
        assert i["engine"] == "postgres" and i["engineVersion"] == pg.engine_version, db["urn"]
        assert i["instanceClass"] == pg.instance_class
        assert i["multiAz"] is pg.multi_az
        assert i["storageEncrypted"] is pg.storage_encrypted
        assert i["kmsKeyId"].startswith(f"arn:aws:kms:{region}:"), "customer-managed key of the instance's region"
        assert i["deletionProtection"] is pg.deletion_protection
        assert i["skipFinalSnapshot"] is not pg.final_snapshot
        assert i["backupRetentionPeriod"] == pg.backup_retention_days
        assert i["backupWindow"] == pg.backup_window == "02:00-03:00"
        assert i["applyImmediately"] is pg.apply_immediately
        assert i["manageMasterUserPassword"] is True and i["iamDatabaseAuthenticationEnabled"] is True
        assert i["publiclyAccessible"] is False
        assert i["performanceInsightsEnabled"] is pg.performance_insights
        assert i["monitoringInterval"] == pg.monitoring_interval_seconds
        assert db["options"].get("protect", False) is protect
    for group in r.of_type("aws:rds/parameterGroup:ParameterGroup"):
        params = {p["name"]: p["value"] for p in group["inputs"]["parameters"]}
        assert params["rds.force_ssl"] == "1", group["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_automated_backups_replicate_to_the_dr_region_when_set(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    replications = r.of_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    expected = len(r.of_type(RDS)) if s.data.postgres.cross_region_backups else 0
    assert len(replications) == expected
    for replication in replications:
        source = replication["inputs"]["sourceDbInstanceArn"]
        source_region = source.split(":")[3]
        dr = s.data.replication_region if source_region == s.primary_region else s.data.eu_replication_region
        assert r.region(replication) == dr != source_region
        assert replication["inputs"]["kmsKeyId"].startswith(f"arn:aws:kms:{dr}:")
        assert replication["inputs"]["retentionPeriod"] == s.data.postgres.backup_retention_days


@pytest.mark.parametrize("stack", STACKS)
def test_redis_inputs_follow_the_stack_settings(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    redis, protect = r.settings.data.redis, r.settings.data.protect
    groups = r.of_type(REDIS)
    assert groups
    for group in groups:
        i = group["inputs"]
        assert i["numCacheClusters"] == redis.num_nodes, group["urn"]
        assert i["multiAzEnabled"] is redis.multi_az
        assert i["automaticFailoverEnabled"] is (redis.num_nodes >= 2)
        assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"].startswith(f"arn:aws:kms:{r.region(group)}:")
        assert i["transitEncryptionEnabled"] is True and i["transitEncryptionMode"] == "required"
        assert i["engineVersion"] == redis.engine_version
        assert i["snapshotRetentionLimit"] == redis.snapshot_retention_days
        assert i["snapshotWindow"] == "03:00-04:00"
        assert i["maintenanceWindow"] == redis.maintenance_window
        assert i["userGroupIds"] and "authToken" not in i
        assert group["options"].get("protect", False) is protect
    users = r.of_type("aws:elasticache/user:User")
    for user in users:
        if user["inputs"]["userName"] == "default":
            assert user["inputs"]["accessString"].startswith("off"), "the required default user is disabled"
        else:
            assert user["inputs"]["authenticationMode"] == {"type": "iam"}
            assert user["inputs"]["userId"] == user["inputs"]["userName"]
    assert len(users) == len(r.settings.tenants) + len(groups)


@pytest.mark.parametrize("stack", STACKS)
def test_backup_plan_retention_lock_and_dr_copy_follow_the_settings(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    b = r.settings.backups.aws_backup
    plans = r.of_type("aws:backup/plan:Plan")
    assert plans
    for plan in plans:
        (rule,) = plan["inputs"]["rules"]
        assert rule["lifecycle"]["deleteAfter"] == b.retention_days
        copies = rule.get("copyActions", [])
        assert len(copies) == (1 if b.copy_to_dr else 0), plan["urn"]
        for copy in copies:
            assert copy["destinationVaultArn"].split(":")[3] != r.region(plan)
    locks = r.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert len(locks) == (len(r.of_type("aws:backup/vault:Vault")) if b.vault_lock else 0), "the DR copies too"
    for lock in locks:
        assert lock["inputs"]["changeableForDays"] == b.vault_lock_grace_days, "compliance mode after the grace period"
        assert lock["inputs"]["minRetentionDays"] == b.retention_days


@pytest.mark.parametrize("stack", STACKS)
def test_the_backup_selection_covers_every_database_and_data_bucket(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    selected = {
        (r.region(s), tag["value"])
        for s in r.of_type("aws:backup/selection:Selection")
        for tag in s["inputs"]["selectionTags"]
        if tag["key"] == "backup-plan"
    }
    buckets = [b for b in r.of_type("aws:s3/bucket:Bucket") if "agent-data" in b["inputs"]["bucket"]]
    # Access-log buckets are unversioned, which AWS Backup for S3 refuses: they must not be selected.
    assert all("backup-plan" not in b["inputs"]["tags"] for b in buckets if b["inputs"]["bucket"].endswith("-logs"))
    covered = [*r.of_type(RDS), *[b for b in buckets if not b["inputs"]["bucket"].endswith("-logs")]]
    for resource in covered:
        if resource["inputs"]["bucket" if "bucket" in resource["inputs"] else "identifier"].endswith("-replica"):
            continue
        assert (r.region(resource), resource["inputs"]["tags"]["backup-plan"]) in selected, resource["urn"]


def test_prod_is_protected_and_dev_is_small_and_cheap(data_render: Render) -> None:
    prod, dev = data_render("prod"), data_render("dev")
    kept = [RDS, REDIS, "aws:backup/vault:Vault", "aws:kms/key:Key", "aws:s3/bucket:Bucket"]
    for type_token in kept:
        assert prod.of_type(type_token) and all(x["options"].get("protect") for x in prod.of_type(type_token))
        assert not any(x["options"].get("protect") for x in dev.of_type(type_token)), type_token
    assert all(db["inputs"]["multiAz"] for db in prod.of_type(RDS))
    assert not any(db["inputs"]["multiAz"] for db in dev.of_type(RDS))
    assert prod.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert not dev.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert prod.kinds("Schedule") and dev.kinds("Schedule")
    dev_retention = {db["inputs"]["backupRetentionPeriod"] for db in dev.of_type(RDS)}
    prod_retention = {db["inputs"]["backupRetentionPeriod"] for db in prod.of_type(RDS)}
    assert max(dev_retention) < min(prod_retention)


@pytest.mark.parametrize("stack", STACKS)
def test_security_groups_admit_only_the_cluster(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    node_group = cluster_value(stack, "node_security_group_id")
    eu = r.settings.data.eu_network
    cidrs = {r.settings.cluster.vpc_cidr, *(eu.client_cidrs if eu else [])}
    rules = r.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rules
    for rule in rules:
        i = rule["inputs"]
        assert (i["fromPort"], i["toPort"]) in {(5432, 5432), (6379, 6379)}
        if r.region(rule) == r.settings.primary_region:
            assert i.get("referencedSecurityGroupId") == node_group and "cidrIpv4" not in i, rule["urn"]
        else:
            assert i.get("cidrIpv4") in cidrs, rule["urn"]
    assert not r.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    for group in r.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert "ingress" not in group["inputs"] and "egress" not in group["inputs"], "rules are separate resources"
    assert "0.0.0.0/0" not in json.dumps([x for x in r.resources if x["urn"] in {g["urn"] for g in rules}])


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_reaches_resources_json(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    for resource in r.resources:
        if resource["type"].startswith("aws:"):
            assert not walk_keys(resource["inputs"]) & SECRET_INPUTS, resource["urn"]
    assert not r.of_type("aws:secretsmanager/secretVersion:SecretVersion"), "LLM keys are put by operators"
    keys = r.settings.names.agent_secret_keys
    for external in r.kinds("ExternalSecret"):
        data = external["spec"]["target"]["template"]["data"]
        for key in (keys.anthropic_api_key, keys.openai_key):
            assert re.fullmatch(r"\{\{ \.\w+ \}\}", data[key]), "a reference resolved in the cluster, not a value"
        assert re.match(r"^postgresql://[^:@/]+@", data[keys.database_url]), "no password in the URL"
        assert re.match(r"^rediss://[^:@/]+@", data[keys.redis_url])
    outputs = (r.folder / "outputs.json").read_text()
    assert "[secret]" not in outputs


@pytest.mark.parametrize("stack", STACKS)
def test_each_tenant_gets_the_agent_secret_from_secrets_manager(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    externals = {m["metadata"]["namespace"]: m for m in r.kinds("ExternalSecret")}
    stores = {m["metadata"]["namespace"]: m for m in r.kinds("SecretStore")}
    for tenant in s.tenants:
        ns = tenant.namespace(s.environment)
        external = externals[ns]
        assert external["metadata"]["name"] == external["spec"]["target"]["name"] == s.names.agent_secret
        assert set(external["spec"]["target"]["template"]["data"]) == set(
            s.names.agent_secret_keys.model_dump().values()
        )
        region = stores[ns]["spec"]["provider"]["aws"]["region"]
        assert is_eu_region(region) is (tenant.data_residency == "eu" or is_eu_region(s.primary_region))
    subjects = {
        value
        for role in r.of_type("aws:iam/role:Role")
        if role["inputs"]["name"].endswith("-secrets-reader")
        for key, value in json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"][
            "StringEquals"
        ].items()
        if key.endswith(":sub")
    }
    expected = {f"system:serviceaccount:{t.namespace(s.environment)}:secrets-reader" for t in s.tenants}
    assert subjects == expected, "one reader role per namespace, assumable by exactly its ServiceAccount"


@pytest.mark.parametrize("stack", STACKS)
def test_every_agent_role_may_connect_to_its_tenant_database_and_cache(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    policies = {
        p["inputs"]["role"]: json.loads(p["inputs"]["policy"]) for p in r.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    for agent in s.agents:
        for tenant_id in agent.tenants:
            role = f"{s.namespace(tenant_id)}-{agent.id}"
            statements = {st["Action"][0]: st for st in policies[role]["Statement"]}
            (db_user,) = statements["rds-db:connect"]["Resource"]
            assert re.fullmatch(rf"arn:aws:rds-db:[a-z0-9-]+:\d{{12}}:dbuser:db-[A-Z0-9]+/tenant_{tenant_id}", db_user)
            assert any(":user:" in arn for arn in statements["elasticache:Connect"]["Resource"])


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eu_tenants_data_and_backups_stay_in_the_eu(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    eu = {t.id for t in s.tenants if t.data_residency == "eu"}
    assert eu
    placed = [
        resource
        for resource in r.resources
        if resource["type"].startswith("aws:")
        and not resource["type"].startswith("aws:iam/")  # IAM is global
        and (
            (resource["inputs"].get("tags") or {}).get("data-site") == "eu"
            or (resource["inputs"].get("tags") or {}).get("tenant-id") in eu
        )
    ]
    assert any(x["type"] == RDS for x in placed) and any(x["type"] == REDIS for x in placed)
    for resource in placed:
        assert is_eu_region(r.region(resource)), resource["urn"]
        for replica in resource["inputs"].get("replicas", []):
            assert is_eu_region(replica["region"]), resource["urn"]
    eu_namespaces = {s.namespace(t) for t in eu}
    locations = {m["metadata"]["name"]: m for m in r.kinds("BackupStorageLocation")}
    for schedule in r.kinds("Schedule"):
        template = schedule["spec"]["template"]
        namespaces = set(template["includedNamespaces"])
        location_region = locations[template["storageLocation"]]["spec"]["config"]["region"]
        if namespaces & eu_namespaces:
            assert namespaces <= eu_namespaces and is_eu_region(location_region)
            assert template["defaultVolumesToFsBackup"] is True, "EBS snapshots would stay in the cluster's region"
    for bucket in r.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        if is_eu_region(r.region(bucket)):
            destination = bucket["inputs"]["rules"][0]["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
            assert is_eu_region(destination.split(":")[3]), "replicated only within the EU"


@pytest.mark.parametrize("stack", STACKS)
def test_velero_schedules_cover_every_tenant_namespace_once_and_pass_the_crd_schema(
    data_render: Render, stack: str
) -> None:
    r = data_render(stack)
    s = r.settings
    schedules = r.kinds("Schedule")
    covered = [ns for m in schedules for ns in m["spec"]["template"]["includedNamespaces"]]
    assert sorted(covered) == sorted(t.namespace(s.environment) for t in s.tenants)
    for schedule in schedules:
        assert schedule["spec"]["schedule"] == s.backups.velero.schedule
        assert schedule["spec"]["template"]["ttl"] == s.backups.velero.ttl
    velero = [m for m in r.manifests.values() if m["apiVersion"] == "velero.io/v1"]
    ours = [
        m
        for m in r.manifests.values()
        if m["kind"]
        in {"ExternalSecret", "SecretStore", "StorageClass", "Job", "ConfigMap", "Namespace", "ServiceAccount"}
        or m["apiVersion"] == "velero.io/v1"
    ]
    assert velero and validate_objects(ours) == {}


def test_the_velero_schema_check_rejects_an_unknown_field(data_render: Render) -> None:
    (schedule,) = [m for m in data_render("dev").kinds("Schedule")]
    broken = json.loads(json.dumps(schedule))
    broken["spec"]["template"]["snapshotVolume"] = True
    assert validate_objects([broken]) != {}


@pytest.mark.parametrize("stack", STACKS)
def test_storage_class_is_encrypted_gp3_with_the_stack_key(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    (storage_class,) = r.kinds("StorageClass")
    outputs = json.loads((r.folder / "outputs.json").read_text())
    assert storage_class["metadata"]["name"] == r.settings.names.storage_class == outputs["data"]["storage_class"]
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["parameters"]["type"] == "gp3" and storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["parameters"]["kmsKeyId"] == outputs["data"]["sites"]["primary"]["kms_key_arn"]


@pytest.mark.parametrize("stack", STACKS)
def test_database_user_jobs_create_one_iam_user_per_tenant(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    scripts = "".join(m["data"]["users.sql"] for m in r.kinds("ConfigMap") if "users.sql" in m.get("data", {}))
    for tenant in r.settings.tenants:
        user = f"tenant_{tenant.id}"
        assert scripts.count(f"GRANT rds_iam TO {user};") == 1
    for job in [j for j in r.kinds("Job") if j["metadata"].get("labels", {}).get("app") == "db-users"]:
        text = json.dumps(job)
        assert "PGPASSWORD=" in text and '"PGPASSWORD"' not in text, "the password is read at run time only"


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_list_endpoints_arns_and_bucket_names(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    data = json.loads((r.folder / "outputs.json").read_text())["data"]
    primary = data["sites"]["primary"]
    assert primary["postgres"]["endpoint"].endswith(".rds.amazonaws.com")
    assert primary["postgres"]["master_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert primary["redis"]["endpoint"].endswith(".cache.amazonaws.com")
    assert primary["backup"]["vault_name"] and primary["backup"]["plan_id"]
    assert data["velero"]["bucket_names"]
    assert set(data["tenants"]) == {t.id for t in r.settings.tenants}


@pytest.mark.parametrize("stack", STACKS)
def test_tenant_egress_reaches_only_its_own_data_site(data_render: Render, stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    policies = {
        m["metadata"]["namespace"]: m for m in r.kinds("NetworkPolicy") if m["metadata"]["name"] == "allow-data-egress"
    }
    for tenant in s.tenants:
        (rule,) = policies[tenant.namespace(s.environment)]["spec"]["egress"]
        cidrs = [peer["ipBlock"]["cidr"] for peer in rule["to"]]
        separate_eu_site = tenant.data_residency == "eu" and not is_eu_region(s.primary_region)
        expected = (
            s.data.eu_network.subnet_cidrs if separate_eu_site and s.data.eu_network else s.cluster.data_subnet_cidrs
        )
        assert cidrs == expected, tenant.id


@pytest.mark.parametrize("stack", STACKS)
def test_no_policy_statement_lists_a_resource_twice(data_render: Render, stack: str) -> None:
    """Two databases encrypted with one site key (a shared and a dedicated EU instance) name that key once."""
    repeated = []
    for resource in data_render(stack).resources:
        for key, value in (resource.get("inputs") or {}).items():
            if not (isinstance(value, str) and '"Statement"' in value):
                continue
            for statement in json.loads(value)["Statement"]:
                listed = statement.get("Resource")
                if isinstance(listed, list) and len(listed) != len({json.dumps(r) for r in listed}):
                    repeated.append((resource["name"], key, listed))
    assert repeated == []
