"""Every container image the rendered stacks run, one per line, for the image-scan matrix:

python .github/scripts/list_images.py build/dev build/staging build/prod [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policy.resources import containers, get, is_workload, pod_spec


def images(render_dir: Path) -> set[str]:
    records = json.loads((render_dir / "resources.json").read_text())
    found = set()
    for record in records:
        if not is_workload(record["type"]):
            continue
        for _, container in containers(pod_spec(record["type"], record["inputs"])):
            image = get(container, "image")
            if isinstance(image, str) and image and not image.startswith("("):
                found.add(image)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("render_dirs", type=Path, nargs="+")
    parser.add_argument("--json", action="store_true", help="print a JSON list (a job matrix)")
    args = parser.parse_args(argv)
    found = sorted(set().union(*(images(d) for d in args.render_dirs)))
    print(json.dumps(found) if args.json else "\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
