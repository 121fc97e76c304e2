"""Canary cohort and flag resolution."""

from __future__ import annotations

import hashlib

from planning.feature_flags import cohort_bucket, in_canary_cohort, resolve_flags
from settings.tenancy import FeatureFlags, Tenant, default_tier

IDS = [f"tenant-{i}" for i in range(2000)]


def test_bucket_is_the_documented_hash() -> None:
    digest = hashlib.sha256(b"acme").digest()
    assert cohort_bucket("acme") == int.from_bytes(digest[:8], "big") % 10_000


def test_cohort_only_grows_as_the_percentage_grows() -> None:
    previous: set[str] = set()
    for pct in (0, 1, 5, 10, 25, 50, 100):
        cohort = {t for t in IDS if in_canary_cohort(t, pct)}
        assert previous <= cohort
        previous = cohort
    assert previous == set(IDS)
    assert not any(in_canary_cohort(t, 0) for t in IDS)


def test_cohort_size_tracks_the_percentage() -> None:
    share = sum(in_canary_cohort(t, 10) for t in IDS) / len(IDS)
    assert 0.08 < share < 0.12


def test_canary_flags_only_for_the_cohort() -> None:
    settings = FeatureFlags(defaults={"x": False}, canary=["x"], canary_percentage=10)
    tier = default_tier("prod", "standard")
    members = [t for t in IDS[:200] if in_canary_cohort(t, 10)]
    others = [t for t in IDS[:200] if not in_canary_cohort(t, 10)]
    assert members and others
    assert all(resolve_flags(Tenant(id=t), tier, settings).flags["x"] for t in members)
    assert not any(resolve_flags(Tenant(id=t), tier, settings).flags["x"] for t in others)
