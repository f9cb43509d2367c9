import sys

from ggcam.cli.commands import main

sys.exit(main())
