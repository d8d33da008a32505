"""Forms by area (search, registries): input validation with messages a person understands."""
