"""`python -m mend_audit audit ...`: the same as the `mend` command."""

import sys

from mend_audit.cli import main

sys.exit(main())
