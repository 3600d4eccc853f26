"""`python -m adjit` runs the command-line interface."""
import sys

from adjit.cli import main

sys.exit(main())
