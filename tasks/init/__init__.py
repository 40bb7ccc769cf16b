"""`bakehouse init`: a commented bakehouse.yaml for an existing bake tree, from what bake reports of it."""
