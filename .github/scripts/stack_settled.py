"""The version of a stack's newest update, once no update is running; for checks that must not judge a stack
while it changes (the staging smoke checks against a rollback's `up`):

    pulumi stack history --json --stack <org>/staging > history.json
    python .github/scripts/stack_settled.py history.json     # prints the version; exit 75 while one runs

Compare the version before and after the checks: a different one means an update ran meanwhile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deployed  # the reader of `pulumi stack history --json`, beside this script


def main(argv: list[str] | None = None) -> int:
    (history,) = argv if argv is not None else sys.argv[1:]
    try:
        update = deployed.last_update(json.loads(Path(history).read_text()))
    except deployed.BusyError as error:
        print(error, file=sys.stderr)
        return deployed.BUSY
    except deployed.UnknownError:
        print(0)
        return 0
    print(update.get("version"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
