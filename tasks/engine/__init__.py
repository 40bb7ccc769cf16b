"""`inv engine.*`: a Docker engine, provisioned from Debian where none is usable."""
