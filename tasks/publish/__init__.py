"""`inv publish`: content-addressed tags, skip-if-published, pushing to a registry."""
