"""`inv cache.*`: the builder's disk usage, pruning, GC status, cache export and import."""
