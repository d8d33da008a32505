"""Forms by area: where input is validated, with messages a person understands, before anything reaches an engine."""
