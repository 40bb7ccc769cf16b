"""`inv complement`: the Complement suite against the homeserver image, gated by a baseline."""
