"""Promotion-gate decision quality: our SLO gate against two common methods on traffic with known truth.

    python -m benchmarks.gate_quality            # full run, writes benchmarks/results/gate_quality.md
    python -m benchmarks.gate_quality --quick    # < 30 s; the test suite runs this

Traffic (`benchmarks/traffic.py`) is drawn per minute for every truth and traffic level. All rollouts are
judged in-process on their counts (`benchmarks/gate_methods.py`); a subset of the same rollouts is written
as TSDB blocks, served by a real Prometheus and judged again through the real query paths (for ours,
`gates.slo_gate.evaluate`), and the two paths' verdicts are compared look by look. The stage is the
first gated stage of the default canary policy (5% weight, 10 minutes minimum, 4x that maximum); the
criteria are the default `gates.slo`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from benchmarks import gate_grid, traffic
from benchmarks import gate_methods as methods
from benchmarks.traffic import TRUTHS, Rollouts, Truth
from conventions.metrics import DEFAULT_ERROR_STATUSES
from gates.decision import Timing, TrackCounts, verdicts
from gates.prometheus import Credentials, Limits, PrometheusClient, QueryError
from gates.queries import Selector, track_queries
from gates.slo_gate import GateSpec, evaluate
from settings.canary import CanaryPolicy
from settings.gates import SloGateCriteria
from settings.names import MetricLabels

RESULTS = Path(__file__).with_name("results")
LEVELS = (50, 500, 5_000, 50_000)
QUICK_LEVELS = (500, 50_000)
LOOK_MINUTES = 5
METHODS = ("ours", "static", "fixed-sample")
MODES = ("once", "every 5m")
CRITERIA = SloGateCriteria()
POLICY = CanaryPolicy()
WEIGHT = POLICY.weights[0] / 100
MIN_MINUTES = int(POLICY.min_durations[0].removesuffix("m"))  # the default policy writes minutes
MAX_MINUTES = int(MIN_MINUTES * POLICY.max_duration_factor)
# Looks for requests-to-decision, as a share of the floor: fine enough for the 0.6x / 1.2x / 0.05x targets.
HEALTHY_RESOLUTION = 0.01
REGRESSION_RESOLUTION = 0.001
ALPHA_PER_CHECK = CRITERIA.false_fail_rate / 5  # the gate splits its false-fail budget over its five checks


@dataclass(frozen=True)
class Size:
    rollouts: int  # per truth and traffic level, in-process
    prometheus_rollouts: int  # of those, per truth and level, also judged through Prometheus
    levels: tuple[int, ...]
    prometheus_looks: tuple[int, ...]  # minutes
    sample_size_rollouts: int  # streams for requests-to-decision


FULL = Size(2000, 4, LEVELS, tuple(range(LOOK_MINUTES, MAX_MINUTES + 1, LOOK_MINUTES)), 1000)
QUICK = Size(60, 1, QUICK_LEVELS, (LOOK_MINUTES, MIN_MINUTES, MAX_MINUTES), 40)


@dataclass
class Cell:
    """Final verdicts of one method, mode, truth and traffic level, and what deciding cost."""

    verdicts: Counter[str] = field(default_factory=Counter)
    requests_at_decision: list[int] = field(default_factory=list)
    evaluations: int = 0
    seconds: float = 0.0


def looks(mode: str) -> list[int]:
    return [MIN_MINUTES] if mode == "once" else list(range(LOOK_MINUTES, MAX_MINUTES + 1, LOOK_MINUTES))


def timing(minute: int) -> Timing:
    return Timing(minute * 60.0, MIN_MINUTES * 60.0, MAX_MINUTES * 60.0)


def fixed_sample_size() -> int:
    """The fixed-sample method's own design: equality vs a 1.5x regression, alpha split over its two tests."""
    k = (1 - WEIGHT) / WEIGHT
    beta, regression = CRITERIA.false_pass_rate, CRITERIA.regression_factor
    alpha = CRITERIA.false_fail_rate / 2
    return max(
        methods.comparison_floor(traffic.ERROR_RATE, 1.0, regression, alpha, beta, k),
        methods.comparison_floor(traffic.SLOW_SHARE, 1.0, regression, alpha, beta, k),
    )


def verdicts_at(method: str, rollouts: Rollouts, minute: int, sample_size: int) -> np.ndarray:
    """Verdict of every rollout at one look, shape (rollouts,)."""
    canary, stable = rollouts.cumulative("canary", minute), rollouts.cumulative("stable", minute)
    n = len(next(a for a in (rollouts.canary, rollouts.stable) if a is not None))
    if method == "ours":
        if rollouts.canary is None or rollouts.stable is None:
            return np.full(n, "error", dtype=object)  # the gate reports a missing track as an error
        return verdicts(_counts(rollouts.canary, minute), _counts(rollouts.stable, minute), CRITERIA, timing(minute))
    if method == "static":
        out = methods.static(canary, minute * 60.0, MIN_MINUTES * 60.0)
    else:
        out = methods.fixed_sample(
            canary, stable, minute * 60.0, MIN_MINUTES * 60.0, CRITERIA.false_fail_rate, sample_size
        )
    return np.broadcast_to(out, (n,))


def _counts(counts: np.ndarray, minute: int) -> TrackCounts:
    """All rollouts' first `minute` minutes, per minute, as the gate's range queries give them."""
    units = counts[:, :minute, :]
    return TrackCounts.from_units(units[..., 0], units[..., 1], units[..., 2], units[..., 3])


def run_cell(method: str, mode: str, rollouts: Rollouts, sample_size: int) -> Cell:
    """Evaluate at each look until a rollout decides; its last verdict stands."""
    cell = Cell()
    n = len(next(a for a in (rollouts.canary, rollouts.stable) if a is not None))
    final = np.full(n, "inconclusive", dtype=object)
    decided_at = np.full(n, -1)
    open_ = np.ones(n, dtype=bool)
    for minute in looks(mode):
        started = time.perf_counter()
        current = verdicts_at(method, rollouts, minute, sample_size)
        cell.seconds += time.perf_counter() - started
        cell.evaluations += int(open_.sum()) if method == "ours" else n
        final[open_] = current[open_]
        newly = open_ & np.isin(current, ("pass", "fail"))
        decided_at[newly] = minute
        open_ &= ~newly
        if not open_.any():
            break
    cell.verdicts.update(final.tolist())
    if rollouts.canary is not None:
        for i in np.flatnonzero(decided_at > 0):
            cell.requests_at_decision.append(int(rollouts.canary[i, : decided_at[i], 0].sum()))
    return cell


# --- requests to a decision, at fine steps ------------------------------------------------------------


def requests_to_decision(
    truth: Truth, floor: int, streams: int, seed: int, resolution: float, horizon: float
) -> tuple[list[int], int]:
    """Canary requests at which our gate first decides, looking every `resolution` x floor requests up to
    `horizon` x floor, with the minimum duration off: the statistics' own sample size.

    Returns the requests of the streams that decided, and how many streams decided the wrong way.
    """
    step = max(1, round(floor * resolution))
    steps = round(horizon / resolution)
    rollouts = traffic.generate(truth, step * 5, streams, steps, seed, WEIGHT)
    assert rollouts.canary is not None and rollouts.stable is not None
    decided, verdict = gate_grid.requests_to_decision(gate_grid.ours_anytime, rollouts.canary, rollouts.stable)
    right = "pass" if truth.healthy else "fail"
    return decided.tolist(), int((verdict != right).sum())


# --- the same rollouts through a real Prometheus --------------------------------------------------------


def agent_ids(truth_index: int, level: int, count: int) -> list[str]:
    return [f"rollout-{truth_index}-{level}-{i}" for i in range(count)]


def spec(url: str, agent_id: str) -> GateSpec:
    return GateSpec.model_validate(
        {
            "prometheus_url": url,
            "namespace": traffic.NAMESPACE,
            "agent_id": agent_id,
            "tenant_id": traffic.TENANT,
            "stable_version": traffic.STABLE,
            "canary_version": traffic.CANARY,
            "stage": 1,
            "weight": POLICY.weights[0],
            "stage_started_at": traffic.stage_started_at(),
            "min_duration_seconds": MIN_MINUTES * 60,
            "max_duration_seconds": MAX_MINUTES * 60,
            "criteria": CRITERIA.model_dump(),
            "query_timeout_seconds": 5,
            "deadline_seconds": 30,
            "retries": 1,
        }
    )


def _selector(agent_id: str, version: str) -> Selector:
    return Selector(traffic.NAMESPACE, agent_id, version, traffic.TENANT, MetricLabels().model_dump())


def static_via_prometheus(client: PrometheusClient, agent_id: str, minute: int) -> str:
    """Two queries on the canary alone, as a static-threshold canary tool runs them."""
    sel = _selector(agent_id, traffic.CANARY)
    window = f"[{minute * 60}s]"
    failed = sel.matchers('status=~"error|timeout"')
    error_rate = (
        f"sum(increase(agent_requests_total{failed}{window}))"
        f" / sum(increase(agent_requests_total{sel.matchers()}{window}))"
    )
    buckets = f"agent_request_duration_seconds_bucket{sel.matchers()}{window}"
    p99 = f"histogram_quantile(0.99, sum by (le) (increase({buckets})))"
    at = traffic.at_minute(minute)
    try:
        bad = client.query(error_rate, at) >= methods.STATIC_ERROR_LIMIT or client.query(p99, at) >= 0.5
    except QueryError:
        return "inconclusive"
    return "fail" if bad else ("pass" if minute >= MIN_MINUTES else "inconclusive")


def fixed_via_prometheus(client: PrometheusClient, agent_id: str, minute: int, sample_size: int) -> str:
    """Requests, errors and slow requests of both tracks (eight queries), then the z-tests."""
    counts = []
    for version in (traffic.CANARY, traffic.STABLE):
        q = track_queries(_selector(agent_id, version), minute * 60, list(DEFAULT_ERROR_STATUSES), 0.5, 2.0)
        try:
            req, err, total, fast = (
                round(client.query(p, traffic.at_minute(minute)))
                for p in (q.requests, q.errors, q.latency_total, q.faster_than_slow)
            )
        except QueryError:
            return "inconclusive"
        counts.append(np.array([[req, min(err, req), max(0, total - fast), 0]]))
    out = methods.fixed_sample(
        counts[0], counts[1], minute * 60.0, MIN_MINUTES * 60.0, CRITERIA.false_fail_rate, sample_size
    )
    return str(out[0])


def query_count(url: str) -> int:
    """Instant and range queries Prometheus has answered so far, from its own metrics."""
    total = 0
    for line in requests.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith("prometheus_http_requests_total{") and (
            'handler="/api/v1/query"' in line or 'handler="/api/v1/query_range"' in line
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


@dataclass
class PathCost:
    evaluations: int = 0
    queries: int = 0
    seconds: float = 0.0


def through_prometheus(
    batches: list[tuple[int, Rollouts, list[str]]], minutes: tuple[int, ...], sample_size: int, workdir: Path
) -> tuple[dict[tuple[str, int], PathCost], Counter[str], list[str], float]:
    """Judge the subset at each listed look through Prometheus and compare with the in-process verdicts."""
    from testing.prometheus_server import PrometheusServer

    started = time.perf_counter()
    server = PrometheusServer(workdir, traffic.openmetrics([(r, ids) for _, r, ids in batches]))
    server.start()
    setup = time.perf_counter() - started
    costs = {(m, r.canary_per_5m): PathCost() for m in METHODS for _, r, _ in batches}
    agreement: Counter[str] = Counter()
    disagreements: list[str] = []
    try:
        for _, rollouts, ids in batches:
            for minute in minutes:
                in_process = {m: verdicts_at(m, rollouts, minute, sample_size) for m in METHODS}
                for i, agent_id in enumerate(ids):
                    for method in METHODS:
                        before, clock = query_count(server.url), time.perf_counter()
                        if method == "ours":
                            verdict = evaluate(
                                spec(server.url, agent_id), traffic.at_minute(minute), Credentials()
                            ).verdict
                        else:
                            with PrometheusClient(server.url, Credentials(), Limits(5, 30, 1)) as client:
                                if method == "static":
                                    verdict = static_via_prometheus(client, agent_id, minute)
                                else:
                                    verdict = fixed_via_prometheus(client, agent_id, minute, sample_size)
                        cost = costs[(method, rollouts.canary_per_5m)]
                        cost.seconds += time.perf_counter() - clock
                        cost.queries += query_count(server.url) - before
                        cost.evaluations += 1
                        expected = str(in_process[method][i])
                        agreement["same" if verdict == expected else "different"] += 1
                        if verdict != expected:
                            disagreements.append(
                                f"{method} {rollouts.truth.name} {rollouts.canary_per_5m}/5m {agent_id} "
                                f"minute {minute}: prometheus {verdict}, in-process {expected}"
                            )
    finally:
        server.stop()
    return costs, agreement, disagreements, setup


# --- report ----------------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def outcome(truth: Truth, verdicts: Counter[str]) -> tuple[int, int, int]:
    """False promotions, false blocks, undecided; a rollout with a missing track must not be promoted."""
    must_not_pass = truth.regression >= CRITERIA.regression_factor or truth.missing is not None
    false_promotions = verdicts["pass"] if must_not_pass else 0
    false_blocks = verdicts["fail"] if truth.healthy else 0
    return false_promotions, false_blocks, verdicts["inconclusive"] + verdicts["error"]


def rate_table(cells: dict[tuple[str, str, str, int], Cell], levels: tuple[int, ...]) -> list[str]:
    lines = [
        "| truth | method | look | " + " | ".join(f"{lv:,}/5m" for lv in levels) + " |",
        "|---|---|---|" + "---|" * len(levels),
    ]
    for truth in TRUTHS:
        for method in METHODS:
            for mode in MODES:
                row = []
                for level in levels:
                    cell = cells[(truth.name, method, mode, level)]
                    n = sum(cell.verdicts.values())
                    promoted, blocked, undecided = outcome(truth, cell.verdicts)
                    row.append(
                        f"{pct(cell.verdicts['pass'], n)} / {pct(cell.verdicts['fail'], n)} / {pct(undecided, n)}"
                    )
                    del promoted, blocked
                lines.append(f"| {truth.name} | {method} | {mode} | " + " | ".join(row) + " |")
    return lines


def _worst(
    cells: dict[tuple[str, str, str, int], Cell], method: str, mode: str, levels: tuple[int, ...], bursty: bool
) -> tuple[float, str, float, str]:
    """Worst false-promotion rate (truths >= the regression factor) and false-block rate (healthy truths)."""
    fp_worst, fb_worst, fp_where, fb_where = 0.0, 0.0, "", ""
    for level in levels:
        for truth in TRUTHS:
            if truth.missing is not None or (truth.bursty and not bursty):
                continue
            cell = cells[(truth.name, method, mode, level)]
            n = sum(cell.verdicts.values())
            fp, fb, _ = outcome(truth, cell.verdicts)
            if truth.regression >= CRITERIA.regression_factor and fp / n > fp_worst:
                fp_worst, fp_where = fp / n, f"{truth.name} at {level:,}/5m"
            if truth.healthy and fb / n > fb_worst:
                fb_worst, fb_where = fb / n, f"{truth.name} at {level:,}/5m"
    return fp_worst, fp_where, fb_worst, fb_where


def targets(
    cells: dict[tuple[str, str, str, int], Cell], levels: tuple[int, ...]
) -> tuple[list[str], list[tuple[str, bool, str]]]:
    """Worst rates per method and mode, with and without bursty errors; the issue's rate targets for ours."""
    lines = [
        "| method | look | worst false promotions (≥ 1.5x) | worst false blocks (healthy) "
        "| same, Poisson traffic only (no bursts) | " + " | ".join(f"undecided {lv:,}/5m" for lv in levels) + " |",
        "|---|---|---|---|---|" + "---|" * len(levels),
    ]
    checks: list[tuple[str, bool, str]] = []
    for method in METHODS:
        for mode in MODES:
            fp, fp_where, fb, fb_where = _worst(cells, method, mode, levels, bursty=True)
            pfp, pfp_where, pfb, pfb_where = _worst(cells, method, mode, levels, bursty=False)
            undecided = []
            for level in levels:
                counts = [cells[(t.name, method, mode, level)].verdicts for t in TRUTHS]
                und = sum(outcome(t, c)[2] for t, c in zip(TRUTHS, counts, strict=True))
                undecided.append(pct(und, sum(sum(c.values()) for c in counts)))
            lines.append(
                f"| {method} | {mode} | {fp:.2%} ({fp_where or '-'}) | {fb:.2%} ({fb_where or '-'}) "
                f"| {pfp:.2%} / {pfb:.2%} | " + " | ".join(undecided) + " |"
            )
            if method == "ours":
                checks.append(
                    (
                        f"false promotions ≤ 1% ({mode})",
                        fp <= 0.01,
                        f"worst {fp:.2%} ({fp_where or '-'}); Poisson traffic only {pfp:.2%} ({pfp_where or '-'})",
                    )
                )
                checks.append(
                    (
                        f"false blocks ≤ 5% ({mode})",
                        fb <= 0.05,
                        f"worst {fb:.2%} ({fb_where or '-'}); Poisson traffic only {pfb:.2%} ({pfb_where or '-'})",
                    )
                )
    return lines, checks


def cost_table(
    cells: dict[tuple[str, str, str, int], Cell],
    path: dict[tuple[str, int], PathCost],
    levels: tuple[int, ...],
    setup: float,
) -> list[str]:
    """Queries and milliseconds per evaluation through Prometheus per traffic level, and the in-process cost."""
    lines = [
        "| method | " + " | ".join(f"{lv:,}/5m: queries, ms" for lv in levels) + " | in-process µs per evaluation |",
        "|---|" + "---|" * (len(levels) + 1),
    ]
    for method in METHODS:
        evaluations = sum(c.evaluations for k, c in cells.items() if k[1] == method)
        seconds = sum(c.seconds for k, c in cells.items() if k[1] == method)
        per_level = []
        for level in levels:
            cost = path[(method, level)]
            n = max(1, cost.evaluations)
            per_level.append(f"{cost.queries / n:.1f}, {1000 * cost.seconds / n:.1f}")
        lines.append(f"| {method} | " + " | ".join(per_level) + f" | {1e6 * seconds / max(1, evaluations):.1f} |")
    lines.append("")
    lines.append(
        f"Building the TSDB blocks and starting Prometheus took {setup:.1f} s. In-process, static and "
        "fixed-sample judge all rollouts of a look in one vectorised step (cost shown per rollout)."
    )
    return lines


def operational_table(cells: dict[tuple[str, str, str, int], Cell], levels: tuple[int, ...], floor: int) -> list[str]:
    """Ours at 5-minute looks with the minimum duration: requests at decision are set by the looks, not the test."""
    lines = [
        "| truth | canary requests / 5m | decided | median requests at decision | 90th percentile | 90th / floor |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("healthy", "errors 5x"):
        for level in levels:
            cell = cells[(name, "ours", "every 5m", level)]
            n, at = sum(cell.verdicts.values()), cell.requests_at_decision
            if not at:
                lines.append(f"| {name} | {level:,} | 0% | - | - | - |")
                continue
            median, p90 = quantile(at, 0.5), quantile(at, 0.9)
            lines.append(f"| {name} | {level:,} | {pct(len(at), n)} | {median:,.0f} | {p90:,.0f} | {p90 / floor:.2f} |")
    return lines


def quantile(values: list[int], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate_quality")
    parser.add_argument("--quick", action="store_true", help="a few rollouts, to keep the script working")
    parser.add_argument("--out", type=Path, default=RESULTS / "gate_quality.md")
    args = parser.parse_args(argv)
    # A terminated run still stops its Prometheus (the server is stopped in a `finally`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    size = QUICK if args.quick else FULL
    wall = time.perf_counter()
    sample_size = fixed_sample_size()
    floor_list = methods.floors(
        CRITERIA, traffic.ERROR_RATE, traffic.SLOW_SHARE, traffic.VERY_SLOW_SHARE, WEIGHT, ALPHA_PER_CHECK
    )
    floor = max(f.requests for f in floor_list)

    cells: dict[tuple[str, str, str, int], Cell] = {}
    subset: list[tuple[int, Rollouts, list[str]]] = []
    for t, truth in enumerate(TRUTHS):
        for level in size.levels:
            rollouts = traffic.generate(
                truth, level, size.rollouts, MAX_MINUTES, seed=1000 * t + level, canary_weight=WEIGHT
            )
            for method in METHODS:
                for mode in MODES:
                    cells[(truth.name, method, mode, level)] = run_cell(method, mode, rollouts, sample_size)
            head = Rollouts(
                truth,
                level,
                None if rollouts.canary is None else rollouts.canary[: size.prometheus_rollouts],
                None if rollouts.stable is None else rollouts.stable[: size.prometheus_rollouts],
            )
            subset.append((t, head, agent_ids(t, level, size.prometheus_rollouts)))
        print(f"{truth.name}: judged in-process", flush=True)
    in_process_seconds = time.perf_counter() - wall

    with tempfile.TemporaryDirectory() as tmp:
        path_costs, agreement, disagreements, setup = through_prometheus(
            subset, size.prometheus_looks, sample_size, Path(tmp)
        )
    healthy, healthy_wrong = requests_to_decision(
        TRUTHS[0], floor, size.sample_size_rollouts, 7, HEALTHY_RESOLUTION, 4.0
    )
    errors5 = next(t for t in TRUTHS if t.error_factor == 5.0 and not t.bursty)
    regress, regress_wrong = requests_to_decision(
        errors5, floor, size.sample_size_rollouts, 8, REGRESSION_RESOLUTION, 0.5
    )
    grid_levels = gate_grid.LEVELS if not args.quick else (5_000, 100_000)
    grid_cells = [c for c in gate_grid.cells() if not args.quick or "mean 10" in c.name or c.shift or c.tenant]
    grid = gate_grid.run(grid_cells, grid_levels, size.rollouts, METHODS)
    wall = time.perf_counter() - wall

    rate_lines = rate_table(cells, size.levels)
    target_lines, checks = targets(cells, size.levels)
    ours_grid = [r for r in grid if r.method == "ours"]
    over = [r for r in ours_grid if not r.ok]
    checks.append(
        (
            "production traffic shapes: every cell within its budget + 3 SE",
            not over,
            f"{len(over)} of {len(ours_grid)} over"
            + "".join(f"; {r.cell.name} at {r.level:,}/h, {r.schedule}: {r.wrong / r.rollouts:.2%}" for r in over),
        )
    )
    n_h = size.sample_size_rollouts
    h90 = sorted(healthy)[int(0.9 * n_h) - 1] if len(healthy) >= int(0.9 * n_h) else float("inf")
    r90 = sorted(regress)[int(0.9 * n_h) - 1] if len(regress) >= int(0.9 * n_h) else float("inf")
    checks += [
        (
            "healthy: median requests to decision ≤ 0.6x floor",
            quantile(healthy, 0.5) <= 0.6 * floor,
            f"median {quantile(healthy, 0.5):,.0f} = {quantile(healthy, 0.5) / floor:.2f}x",
        ),
        ("healthy: 90% decided within 1.2x floor", h90 <= 1.2 * floor, f"90th {h90:,.0f} = {h90 / floor:.2f}x"),
        ("errors 5x: 90% failed within 0.05x floor", r90 <= 0.05 * floor, f"90th {r90:,.0f} = {r90 / floor:.3f}x"),
    ]
    report = [
        f"# Gate decision quality{' (quick)' if args.quick else ''}",
        "",
        f"Command: `python -m benchmarks.gate_quality{' --quick' if args.quick else ''}`; wall time {wall:.0f} s "
        f"({in_process_seconds:.0f} s judging {size.rollouts:,} rollouts per truth and level in-process).",
        "",
        f"Stage: canary weight {WEIGHT:.0%}, minimum {MIN_MINUTES} min, maximum {MAX_MINUTES} min (default canary "
        f"policy, first stage); criteria: default `gates.slo`. Healthy profile: {traffic.ERROR_RATE:.1%} errors, "
        f"{traffic.SLOW_SHARE:.1%} slower than 0.5 s, {traffic.VERY_SLOW_SHARE:.1%} slower than 2 s. "
        f'"once": one look at the minimum duration; "every 5m": looks every 5 minutes until a decision or '
        f"the maximum. Error bursts: in {traffic.BURST_CHANCE:.0%} of minutes a track fails 10x (or 3x) its rate, "
        "the other minutes less (same mean), in both tracks independently. Undecided = inconclusive or error; a "
        "rollout with a missing track must not be promoted (a pass there counts as a false promotion).",
        "",
        "## Targets (ours)",
        "",
        "| target | met | measured |",
        "|---|---|---|",
        *[f"| {name} | {'yes' if ok else '**no**'} | {detail} |" for name, ok, detail in checks],
        "",
        "## Worst rates per method",
        "",
        *target_lines,
        "",
        f"## Requests to a decision (ours, minimum duration off, looks every {HEALTHY_RESOLUTION:.0%} of the floor "
        f"for healthy, {REGRESSION_RESOLUTION:.1%} for 5x errors)",
        "",
        "Fixed-sample floor per check (one-sided, alpha "
        f"{ALPHA_PER_CHECK:.0%} per check as the gate splits it, beta {CRITERIA.false_pass_rate:.0%}, stable "
        f"{(1 - WEIGHT) / WEIGHT:g}x the canary's traffic): "
        + ", ".join(f"{f.check} {f.requests:,}" for f in floor_list)
        + f"; floor = {floor:,} canary requests.",
        "",
        "| truth | decided | wrong way | median | 90th percentile | median / floor | 90th / floor |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {name} | {len(v)}/{n_h} | {w} | {quantile(v, 0.5):,.0f} | {p90:,.0f} | "
            f"{quantile(v, 0.5) / floor:.3f} | {p90 / floor:.3f} |"
            for name, v, w, p90 in (
                ("healthy", healthy, healthy_wrong, h90),
                ("errors 5x", regress, regress_wrong, r90),
            )
        ],
        "",
        "At 5-minute looks (every 5m, with the 10-minute minimum), per traffic level:",
        "",
        *operational_table(cells, size.levels, floor),
        "",
        f"The fixed-sample method passes at {sample_size:,} canary requests (equality vs 1.5x, alpha "
        f"{CRITERIA.false_fail_rate / 2:.1%} per test, beta {CRITERIA.false_pass_rate:.0%}).",
        "",
        "## Production traffic shapes (`benchmarks/gate_grid.py`)",
        "",
        f"{size.rollouts:,} rollouts per cell, level and schedule; levels in canary requests per hour (5% weight, "
        "stage 10-40 minutes); clusters: sizes from a rounded-up lognormal (sigma 1) with the named mean, each "
        "within one minute; shift: stable's error rate 2-4x from a random minute in [5, 40); tenant: a 3x "
        "regression in one tenant of five carrying 10% of the traffic, judged by that tenant's gate (ours) and by "
        "one gate over all tenants. Rates: false passes of regressions, false fails of healthy canaries; "
        "**over** marks ours above its budget plus three standard errors.",
        "",
        *gate_grid.table(grid, grid_levels),
        "",
        "## Verdicts per truth (pass / fail / undecided)",
        "",
        *rate_lines,
        "",
        "## Cost per evaluation",
        "",
        *cost_table(cells, path_costs, size.levels, setup),
        "",
        "## In-process vs real Prometheus",
        "",
        f"{sum(agreement.values()):,} evaluations ({size.prometheus_rollouts} rollouts per truth and level, looks at "
        f"minutes {', '.join(map(str, size.prometheus_looks))}, every method): {agreement['same']:,} same verdict, "
        f"{agreement['different']:,} different.",
        *[f"- {d}" for d in disagreements[:20]],
        "",
    ]
    text = "\n".join(report)
    print(text)
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
