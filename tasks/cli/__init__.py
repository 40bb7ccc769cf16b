"""The command line: what invoke sees of bakehouse.

The task modules (``tasks/<domain>/tasks.py``) and this package are the only code that imports
invoke; everything below them takes settings and requests, not a Context.
"""
