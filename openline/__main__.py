import sys

from openline.cli import main

sys.exit(main())
