"""The mutant corpus (tests/settings/corpus.py): every mutated stack file is refused with one clear line per
problem, before anything is written, or it is harmless for a stated reason. Renders run in this process."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.settings import corpus

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_corpus_is_large_and_covers_every_stack_file() -> None:
    mutants = corpus.corpus()
    by_stack = Counter(m.stack for m in mutants)
    assert len(mutants) >= 1000
    assert all(by_stack[stack] >= 300 for stack in corpus.STACKS), by_stack
    kinds = Counter(m.name.split("/")[1].split("-")[0] for m in mutants)
    for kind in ("named", "empty", "misspelt", "deleted", "malformed", "number", "bool", "string"):
        assert kinds[kind] >= 20, kinds


def test_every_mutant_is_refused_clearly_or_harmless() -> None:
    outcomes = corpus.run_corpus(corpus.corpus())
    counts = Counter(o.kind for o in outcomes.values())
    failures = {name: f"{o.kind}: {o.detail}" for name, o in outcomes.items() if o.kind not in ("refused", "harmless")}
    assert failures == {}, counts
    # Harmless is the exception: most of what an operator gets wrong must be refused.
    assert counts["refused"] > 10 * counts["harmless"], counts


def _outcome(stderr: str, code: int = 1, path: str | None = "cluster.vpc_cidr", wrote: bool = False) -> str:
    mutant = corpus.Mutant("dev/x/cluster.vpc_cidr", "dev", "", path)
    return corpus.classify(mutant, code, "", stderr, wrote).kind


def test_classification_tells_clear_from_unclear() -> None:
    """The classifier itself must be able to fail each way, or the corpus proves nothing."""
    good = (
        "Pulumi.dev.yaml: agent-platform:cluster.vpc_cidr: '10.0.0.0/33' is not an IPv4 CIDR; use one like 10.0.0.0/16"
    )
    assert _outcome(good) == "refused"
    assert _outcome("Traceback (most recent call last):\n  ValueError: x") == "traceback"
    assert _outcome(good, wrote=True) == "late"
    assert _outcome("error: something went wrong") == "unclear"
    assert (
        _outcome("Pulumi.dev.yaml: agent-platform:cluster.vpc_cidr: '1': string should match pattern '^x$'")
        == "unclear"
    )
    assert _outcome("Pulumi.dev.yaml: agent-platform:cluster.name: 'x' is wrong, use y") == "unclear"  # other setting
    assert _outcome("Pulumi.dev.yaml: agent-platform:cluster.vpc_cidr: is bad") == "unclear"  # no fix
    assert _outcome("Pulumi.prod.yaml: agent-platform:cluster.vpc_cidr: bad; use x") == "unclear"  # other file
    assert _outcome("", code=0) == "rendered"
    harmless = corpus.Mutant("dev/deleted-key/cluster.context", "dev", "", "cluster.context")
    assert corpus.classify(harmless, 0, "", "", False).kind == "harmless"
