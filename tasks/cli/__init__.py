"""The command line: what invoke sees of bakehouse.

The task modules (``tasks/<domain>/tasks.py``) and this package are the only code that imports
invoke; everything below them takes settings and requests, not a Context.

Start-up: `inv --list`, and every command, builds the whole namespace first, so a task module
imports only this package and ``shared.errors`` at its top, and its domain's logic inside each task
body, when the task runs. That is the one accepted import inside a function, and only in a task
module; importing inside a function to dodge a cycle is not. tests/unit/layout holds both to it:
building the namespace loads no logic module, and no other module imports one of ours inside a
function.
"""
