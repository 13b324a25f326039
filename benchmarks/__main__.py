import sys

from ._harness import main

sys.exit(main())
