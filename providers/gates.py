"""Old entry point of the read-only gate check, `python -m providers.gates <stack>`; the command is now
`python -m gates.cli <stack>`. Kept so scripts and runbooks that call the old name keep working."""

from gates.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
