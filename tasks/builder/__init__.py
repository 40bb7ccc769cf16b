"""`inv builder.*`: the buildx docker-container builder and its buildkitd.toml."""
