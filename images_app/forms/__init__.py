"""Forms: where user input is validated before anything reaches an engine."""
