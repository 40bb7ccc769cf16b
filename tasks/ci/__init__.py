"""`inv ci.*`: the matrix cells for a CI to fan out (GitHub Actions, GitLab)."""
