"""Run the command line as ``python -m topoaudio_zoo.cli``."""

import sys

from . import main

sys.exit(main())
