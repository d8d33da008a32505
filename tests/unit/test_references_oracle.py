"""Differential tests: our reference parser against docker-image-py, an independent port of
distribution/reference (the grammar the engine uses), on generated and near-miss text.

Where the two legitimately differ, the test says why: Berth also applies the engine's own checks
beyond the grammar (known digest algorithms and their lengths), so it may refuse more, never less.
"""

from __future__ import annotations

import pytest
from docker_image import reference as oracle
from hypothesis import given, settings
from hypothesis import strategies as st

from images_app.references import BadReference, parse_reference
from tests.unit.test_references import near_reference_text, reference_parts, render

ORACLE_SETTINGS = settings(max_examples=300, deadline=None)
_KNOWN_DIGESTS = {"sha256": 64, "sha384": 96, "sha512": 128}


def _oracle(text: str) -> oracle.Reference | None:
    try:
        return oracle.Reference.parse_normalized_named(text)
    except Exception:  # noqa: BLE001  (the port raises its own classes and a few plain ones: all mean "refused")
        return None


def _normalized_name(text: str) -> str:
    """Our parse, written the way distribution normalises a name: docker.io/library/ubuntu."""
    ours = parse_reference(text, default_tag=False)
    if ours.registry is not None:
        return ours.repository
    return "docker.io/" + (ours.path if "/" in ours.path else "library/" + ours.path)


def _engine_accepts_digest(digest: str | None) -> bool:
    if digest is None:
        return True
    algorithm, _, hex_part = digest.partition(":")
    return _KNOWN_DIGESTS.get(algorithm) == len(hex_part) and hex_part == hex_part.lower()


@ORACLE_SETTINGS
@given(reference_parts())
def test_every_grammar_reference_reads_the_same_in_both_parsers(parts):
    reg, path, tag, digest = parts
    text = render(reg, path, tag, digest)
    theirs = _oracle(text)
    if theirs is None:
        # The port predates bracketed IPv6 hosts and knows only sha256/384/512: nothing to compare.
        assert (reg or "").startswith("[") or digest is not None
        return
    try:
        ours = parse_reference(text, default_tag=False)
    except BadReference:
        # Berth refuses more than the grammar only for digests the engine cannot verify.
        assert not _engine_accepts_digest(digest)
        return
    assert _normalized_name(text) == theirs["name"]
    assert ours.tag == theirs["tag"]
    assert ours.digest == theirs["digest"]


@ORACLE_SETTINGS
@given(st.one_of(near_reference_text, st.text(max_size=40)))
def test_text_the_grammar_refuses_berth_refuses_too(text):
    # Berth trims the whitespace around what a person typed; the grammar knows no whitespace.
    if _oracle(text.strip()) is not None:
        return
    with pytest.raises(BadReference):
        parse_reference(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ubuntu", "docker.io/library/ubuntu"),
        ("myuser/app:1", "docker.io/myuser/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("registry.example.com/team/app@sha256:" + "a" * 64, "registry.example.com/team/app"),
    ],
)
def test_known_examples_normalise_alike(text, name):
    assert _normalized_name(text) == name == _oracle(text)["name"]
