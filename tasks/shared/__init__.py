"""Infrastructure every domain uses: the process runner, errors, settings, text and units."""
