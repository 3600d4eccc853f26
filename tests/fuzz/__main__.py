"""`python -m tests.fuzz`: a fuzzing campaign (see tests/fuzz/campaign.py)."""
import sys

from tests.fuzz.campaign import main

if __name__ == "__main__":
    sys.exit(main())
