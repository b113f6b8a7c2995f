"""``python -m rnncourse.bench``: the same as ``rnncourse bench``."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
