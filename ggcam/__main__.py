import sys

from ggcam.cli.main import main

sys.exit(main())
