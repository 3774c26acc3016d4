import sys

from selfnas.cli import main

sys.exit(main())
