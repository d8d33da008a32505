"""URLs by area; each area's module owns its patterns."""
