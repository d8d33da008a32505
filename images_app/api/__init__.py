"""Berth's JSON API (/api/v1/): a second door onto the same services and selectors the pages use.

Views here parse input (with the pages' own forms), call services and selectors, and shape
JSON; no rule lives here that a page does not share.
"""
