"""The benchmark of issue 7 (`make bench`). Not a Django app: see README.md."""
