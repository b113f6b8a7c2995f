"""``python -m rnncourse``: the same as the ``rnncourse`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
