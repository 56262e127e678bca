"""``python -m brewslm ...`` runs the ``brewslm`` command line."""

import sys

from brewslm.cli import main

if __name__ == "__main__":
    sys.exit(main())
