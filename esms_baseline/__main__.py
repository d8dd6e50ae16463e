import sys

from esms_baseline.cli import main

sys.exit(main())
