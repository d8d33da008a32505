"""API views by area; each calls the same services and selectors as the area's pages."""
