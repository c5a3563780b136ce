"""The benchmark is run by `make bench`, never collected by `make test` (pytest)."""

collect_ignore_glob = ["*.py"]
