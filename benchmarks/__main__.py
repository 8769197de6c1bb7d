"""`python -m benchmarks [name ...]`: run all registered benchmarks, or only the ones named."""

import sys

from benchmarks.harness import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
