"""`inv build`: docker buildx bake over the tree and the matrix."""
