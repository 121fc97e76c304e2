"""NetworkPolicy specs every namespace the platform owns is built from: default deny, then named paths out."""

from __future__ import annotations

import ipaddress

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
"""Never reached by the public-HTTPS rule; 169.254.0.0/16 holds the instance metadata endpoint."""
ALL_PODS: dict[str, object] = {}


def namespace_selector(namespace: str) -> dict[str, object]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def tcp(*ports: int) -> list[dict[str, object]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def default_deny() -> dict[str, object]:
    return {"podSelector": ALL_PODS, "policyTypes": ["Ingress", "Egress"]}


def dns_egress() -> dict[str, object]:
    kube_dns = {**namespace_selector("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return {
        "podSelector": ALL_PODS,
        "policyTypes": ["Egress"],
        "egress": [{"to": [kube_dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}],
    }


def cidr_egress(cidrs: list[str], ports: list[int]) -> dict[str, object]:
    return {
        "podSelector": ALL_PODS,
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs], "ports": tcp(*ports)}],
    }


def public_https_egress(vpc_cidr: str, aws_api_cidrs: list[str]) -> dict[str, object]:
    """NetworkPolicy cannot match host names, so LLM providers and public AWS endpoints are reached as "443 to
    any address outside the private ranges and the VPC", plus the subnets of interface VPC endpoints."""
    return {
        "podSelector": ALL_PODS,
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": private_ranges(vpc_cidr)}},
                    *({"ipBlock": {"cidr": cidr}} for cidr in aws_api_cidrs),
                ],
                "ports": tcp(443),
            }
        ],
    }


def private_ranges(vpc_cidr: str) -> list[str]:
    """The private ranges, plus the VPC's own range when it is not already inside one of them."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    ranges = [ipaddress.IPv4Network(r) for r in PRIVATE_RANGES]
    if not any(vpc.subnet_of(r) for r in ranges):
        ranges.append(vpc)
    return sorted(str(r) for r in ranges)
