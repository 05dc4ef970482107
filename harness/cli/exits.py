"""The one place a HarnessError becomes `harness: <line>` on stderr and an exit code.

No traceback, ever, for a HarnessError (docs/contracts.md "Errors"); Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import sys

from harness.cli.common import Handler
from harness.errors import HarnessError, ValidationError


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Call the subcommand's handler; map what it raises to one line (per problem) and a code."""
    try:
        return int(handler(args) or 0)
    except ValidationError as err:
        for problem in err.problems:
            print(f"harness: {problem}", file=sys.stderr)
        return err.exit_code
    except HarnessError as err:
        print(f"harness: {err.with_log()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
