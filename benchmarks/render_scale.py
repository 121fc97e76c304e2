"""Render cost at fleet scale: our program against the bare SDK registering the same resources.

    python -m benchmarks.render_scale            # full grid, writes benchmarks/results/render_scale.md
    python -m benchmarks.render_scale --quick    # seconds; the test suite runs this

Each measurement runs in a fresh interpreter so peak RSS belongs to that size alone. The floor replays
the program's own registrations (same types, names, inputs) as plain CustomResources under the same
mock engine, with no settings validation, no components and no rule generation. It runs twice: with the
interpreter's default garbage-collector policy (the bare SDK as anyone would run it) and with the
program's own policy (`stacks/gc_policy.py`), so the SDK-for-SDK overhead of the program shows apart
from what the policy saves.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from settings import stack_file

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")
FULL_GRID = [(t, a) for t in (10, 50, 200, 500) for a in (1, 5, 10)]
QUICK_GRID = [(2, 1), (4, 2)]
TIERS = ("standard", "premium", "enterprise")


def synthetic_stack(tenants: int, agents: int) -> dict[str, Any]:
    """A prod-like stack: `tenants` tenants, `agents` agents each running in every tenant."""
    base = stack_file.raw_config("prod", ROOT)
    tenant_ids = [f"tenant-{i:04d}" for i in range(tenants)]
    config = {
        key: value for key, value in base.items() if key not in ("agent-platform:tenants", "agent-platform:agents")
    }
    config["agent-platform:tenants"] = [
        {"id": tid, "tier": TIERS[i % 3], **({"data_residency": "eu"} if i % 5 == 0 else {})}
        for i, tid in enumerate(tenant_ids)
    ]
    template = base["agent-platform:agents"][0]
    config["agent-platform:agents"] = [
        {**template, "id": f"agent-{j:02d}", "tenants": tenant_ids, "scaling": {"max_replicas": 4}}
        for j in range(agents)
    ]
    return {"config": config}


def measure_program(workdir: Path, stack: str) -> dict[str, Any]:
    import stacks.compose  # noqa: F401 - import cost is paid once per process, not per resource
    from stacks.offline.engine import run
    from stacks.render import write

    started = time.perf_counter()
    recording = run(stack, root=workdir)
    seconds = time.perf_counter() - started
    write(recording, workdir / "out")
    write_seconds = time.perf_counter() - started - seconds
    custom = sum(1 for r in recording.resources.values() if r.custom)
    return {"seconds": seconds, "write_seconds": write_seconds, "resources": len(recording.resources), "custom": custom}


def measure_floor(workdir: Path, stack: str, gc_policy: bool = False) -> dict[str, Any]:
    """Register the recorded resources again, flat, with nothing but the SDK in between."""
    import pulumi

    import stacks.compose  # noqa: F401 - same imports as the program, so only registration is compared
    from stacks import gc_policy as policy
    from stacks.offline.engine import OfflineMocks, Recording, RecordingMonitor, _sync_await

    if gc_policy:
        policy.for_registration()

    records = json.loads((workdir / "out" / stack / "resources.json").read_text())
    mocks = OfflineMocks("us-east-1", preview=False)
    pulumi.runtime.set_mocks(
        mocks, project="agent-platform", stack=stack, monitor=RecordingMonitor(mocks, Recording(stack, False))
    )

    def program() -> None:
        for record in records:
            if record["custom"]:
                pulumi.CustomResource(record["type"], record["name"], props=dict(record["inputs"]))
            else:
                pulumi.ComponentResource(record["type"], record["name"])

    started = time.perf_counter()
    _sync_await(pulumi.runtime.stack.run_pulumi_func(program))
    return {"seconds": time.perf_counter() - started, "resources": len(records)}


def one(tenants: int, agents: int, mode: str, workdir: Path) -> dict[str, Any]:
    stack = f"bench-{tenants}x{agents}"
    if mode == "program":
        (workdir / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(synthetic_stack(tenants, agents)))
        shutil.copy(ROOT / "__main__.py", workdir / "__main__.py")
        result = measure_program(workdir, stack)
    else:
        result = measure_floor(workdir, stack, gc_policy=mode == "floor-gc")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_child(tenants: int, agents: int, mode: str, workdir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.render_scale", "--one", str(tenants), str(agents), mode, str(workdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} {tenants}x{agents} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit_exponent(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(time) against log(resources); undefined (nan) for fewer than two sizes."""
    if len({x for x, _ in points}) < 2:
        return math.nan
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| tenants | agents | resources | ours (s) | floor (s) | ratio | floor, program's GC policy (s) "
        "| ratio, same GC policy | writing files (s) | ours peak RSS (MB) | floor peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tenants']} | {r['agents']} | {r['resources']} | {r['ours']:.2f} | {r['floor']:.2f} | "
            f"{r['ours'] / r['floor']:.2f} | {r['floor_gc']:.2f} | {r['ours'] / r['floor_gc']:.2f} | "
            f"{r['write']:.2f} | {r['ours_rss']:.0f} | {r['floor_rss']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render_scale")
    parser.add_argument("--quick", action="store_true", help="two tiny sizes, to keep the script working")
    parser.add_argument("--one", nargs=4, metavar=("TENANTS", "AGENTS", "MODE", "WORKDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help="comma-separated TENANTSxAGENTS, e.g. 10x1,50x5 (default: the full grid)")
    parser.add_argument("--out", type=Path, default=RESULTS / "render_scale.md")
    args = parser.parse_args(argv)
    if args.one:
        tenants, agents, mode, workdir = args.one
        print(json.dumps(one(int(tenants), int(agents), mode, Path(workdir))))
        return 0
    rows = []
    grid = FULL_GRID
    if args.quick:
        grid = QUICK_GRID
    elif args.sizes:
        grid = [(int(t), int(a)) for t, a in (size.split("x") for size in args.sizes.split(","))]
    for tenants, agents in grid:
        with tempfile.TemporaryDirectory() as tmp:
            ours = run_child(tenants, agents, "program", Path(tmp))
            floor = run_child(tenants, agents, "floor", Path(tmp))
            floor_gc = run_child(tenants, agents, "floor-gc", Path(tmp))
        row = {
            "tenants": tenants,
            "agents": agents,
            "resources": ours["resources"],
            "ours": ours["seconds"],
            "floor": floor["seconds"],
            "floor_gc": floor_gc["seconds"],
            "write": ours["write_seconds"],
            "ours_rss": ours["peak_rss_mb"],
            "floor_rss": floor["peak_rss_mb"],
        }
        rows.append(row)
        print(
            f"{tenants}x{agents}: {row['resources']} resources, ours {row['ours']:.2f}s, floor {row['floor']:.2f}s, "
            f"floor with the program's GC policy {row['floor_gc']:.2f}s, ours peak RSS {row['ours_rss']:.0f} MB",
            flush=True,
        )
    exponent = fit_exponent([(r["resources"], r["ours"]) for r in rows])
    floor_exponent = fit_exponent([(r["resources"], r["floor"]) for r in rows])
    floor_gc_exponent = fit_exponent([(r["resources"], r["floor_gc"]) for r in rows])
    command = "python -m benchmarks.render_scale" + (f" --sizes {args.sizes}" if args.sizes else "")
    report = (
        f"Command: `{command}`\n\n{table(rows)}\n\n"
        f"Scaling exponent (time vs resources): ours {exponent:.2f}, floor {floor_exponent:.2f}, "
        f"floor with the program's GC policy {floor_gc_exponent:.2f}\n"
    )
    print(report)
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
