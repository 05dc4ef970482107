"""`python -m harness.cli`: what the console script runs (tests and the gate use this form)."""
import sys

from harness.cli import main

sys.exit(main())
