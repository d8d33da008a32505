"""Image reference parsing: examples, error messages and grammar properties.

Pure unit tests: only images_app.references is imported, no Django settings or DB.
"""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from images_app.references import (
    BadReference,
    ImageReference,
    is_image_id_like,
    parse_reference,
)

SHA = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
SHA512 = "0123456789abcdef" * 8

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


# --- valid examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag", "digest", "canonical"),
    [
        ("ubuntu", None, "ubuntu", "latest", None, "ubuntu:latest"),
        ("ubuntu:22.04", None, "ubuntu", "22.04", None, "ubuntu:22.04"),
        ("library/ubuntu", None, "library/ubuntu", "latest", None, "library/ubuntu:latest"),
        ("localhost/app", "localhost", "app", "latest", None, "localhost/app:latest"),
        ("localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag", None, "localhost:5000/a/b:tag"),
        (
            f"registry.example.com:443/x/y@sha256:{SHA}",
            "registry.example.com:443",
            "x/y",
            None,
            f"sha256:{SHA}",
            f"registry.example.com:443/x/y@sha256:{SHA}",
        ),
        (f"x:tag@sha256:{SHA}", None, "x", "tag", f"sha256:{SHA}", f"x:tag@sha256:{SHA}"),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None, "[::1]:5000/app:latest"),
        ("[2001:db8::1]/team/app:v2", "[2001:db8::1]", "team/app", "v2", None, "[2001:db8::1]/team/app:v2"),
        ("127.0.0.1:5000/app:1", "127.0.0.1:5000", "app", "1", None, "127.0.0.1:5000/app:1"),
        ("ghcr.io/owner/repo:v1.2.3", "ghcr.io", "owner/repo", "v1.2.3", None, "ghcr.io/owner/repo:v1.2.3"),
        # A port alone makes a registry, even without a dot.
        ("myregistry:5000/app", "myregistry:5000", "app", "latest", None, "myregistry:5000/app:latest"),
        # Registry hosts may have uppercase (DNS is case-insensitive); paths may not.
        ("Registry.Example.com/app", "Registry.Example.com", "app", "latest", None, "Registry.Example.com/app:latest"),
        # Without "." or ":" the first part is a Docker Hub namespace, not a host.
        ("myuser/app", None, "myuser/app", "latest", None, "myuser/app:latest"),
        # A single component is never a registry: this is library/localhost, tag 5000.
        ("localhost:5000", None, "localhost", "5000", None, "localhost:5000"),
        ("my-app.v2/x", "my-app.v2", "x", "latest", None, "my-app.v2/x:latest"),
        ("a__b/c-d.e_f", None, "a__b/c-d.e_f", "latest", None, "a__b/c-d.e_f:latest"),
        ("ubuntu:_private", None, "ubuntu", "_private", None, "ubuntu:_private"),
        ("ubuntu:" + "t" * 128, None, "ubuntu", "t" * 128, None, "ubuntu:" + "t" * 128),
        ("  ubuntu:22.04\n", None, "ubuntu", "22.04", None, "ubuntu:22.04"),
        (f"x@sha512:{SHA512}", None, "x", None, f"sha512:{SHA512}", f"x@sha512:{SHA512}"),
        # Other algorithms follow the generic grammar: 32+ hex of either case.
        ("x@multihash+base58:" + "AbCd" * 8, None, "x", None, "multihash+base58:" + "AbCd" * 8, None),
    ],
)
def test_valid_references(text, registry, path, tag, digest, canonical):
    ref = parse_reference(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    if canonical is not None:
        assert str(ref) == canonical
    assert parse_reference(str(ref)) == ref


def test_digest_lookalike_is_a_name_and_tag_by_the_grammar():
    # The grammar reads "sha256:<hex>" as repository "sha256" with a 64-character
    # tag (docker does too); callers that take image IDs check is_image_id_like first.
    ref = parse_reference(f"sha256:{SHA}")
    assert (ref.path, ref.tag) == ("sha256", SHA)
    assert is_image_id_like(f"sha256:{SHA}")


def test_name_of_exactly_255_characters_is_accepted():
    path = "/".join(["a" * 63] * 4)  # 4 * 63 + 3 = 255
    assert len(path) == 255
    assert parse_reference(path).path == path


def test_repository_property():
    assert parse_reference("ubuntu").repository == "ubuntu"
    assert parse_reference("localhost:5000/a/b:tag").repository == "localhost:5000/a/b"
    assert parse_reference("[::1]:5000/app").repository == "[::1]:5000/app"


# --- default tag -----------------------------------------------------------------


def test_default_tag_is_latest_when_nothing_is_given():
    ref = parse_reference("ubuntu")
    assert ref.tag == "latest"
    assert ref.pull_args() == ("ubuntu", "latest")
    assert str(ref) == "ubuntu:latest"


def test_default_tag_can_be_left_out():
    ref = parse_reference("ubuntu", default_tag=False)
    assert ref.tag is None
    assert ref.pull_args() == ("ubuntu", "latest")
    # The string form always shows the tag the engine would use.
    assert str(ref) == "ubuntu:latest"
    assert parse_reference("ubuntu:22.04", default_tag=False).tag == "22.04"


def test_no_default_tag_with_a_digest():
    ref = parse_reference(f"ubuntu@sha256:{SHA}")
    assert ref.tag is None
    assert ref.pull_args() == ("ubuntu", f"sha256:{SHA}")
    assert str(ref) == f"ubuntu@sha256:{SHA}"


def test_tag_and_digest_together_keep_both():
    ref = parse_reference(f"x/y:1.0@sha256:{SHA}")
    assert ref.tag == "1.0"
    assert ref.pull_args() == ("x/y", f"sha256:{SHA}")  # the engine pins by digest
    assert str(ref) == f"x/y:1.0@sha256:{SHA}"


# --- pull_args -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:5000/app:v1", ("localhost:5000/app", "v1")),
        ("ubuntu", ("ubuntu", "latest")),
        (f"ubuntu@sha256:{SHA}", ("ubuntu", f"sha256:{SHA}")),
        # The digest pins the image; the tag is informative only.
        (f"x/y:1.0@sha256:{SHA}", ("x/y", f"sha256:{SHA}")),
        ("[::1]:5000/app:2", ("[::1]:5000/app", "2")),
    ],
)
def test_pull_args(text, expected):
    assert parse_reference(text).pull_args() == expected
    assert parse_reference(text, default_tag=False).pull_args() == expected


# --- familiar --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("index.docker.io/library/ubuntu", "ubuntu:latest"),
        ("library/ubuntu", "ubuntu:latest"),
        ("docker.io/myuser/app:1", "myuser/app:1"),
        ("library/a/b", "library/a/b:latest"),
        ("ghcr.io/library/x", "ghcr.io/library/x:latest"),
        ("ubuntu", "ubuntu:latest"),
        # No short form exists: "a.b" would turn into the registry.
        ("docker.io/a.b/c", "docker.io/a.b/c:latest"),
        (f"docker.io/library/{'a' * 64}", f"docker.io/library/{'a' * 64}:latest"),
    ],
)
def test_familiar(text, expected):
    assert str(parse_reference(text).familiar()) == expected


# --- invalid examples and their messages -------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Empty reference"),
        ("   \t\n", "Empty reference"),
        ("Ubuntu", 'Repository names must be lowercase: "Ubuntu"'),
        ("Ubuntu:22.04", 'Repository names must be lowercase: "Ubuntu"'),
        ("ghcr.io/Owner/app", 'Repository names must be lowercase: "Owner/app"'),
        # Structure first: lowercasing alone would not fix this one.
        ("Ubuntu!", 'Invalid character "!" in repository name "Ubuntu!"'),
        ("ubuntu:bad!tag", 'Invalid character "!" in tag "bad!tag"'),
        ("ubuntu:v1$", 'Invalid character "$" in tag "v1$"'),
        ("ubuntu:.hidden", 'Tag must start with a letter, digit or "_": ".hidden"'),
        ("ubuntu:-x", 'Tag must start with a letter, digit or "_": "-x"'),
        ("ubuntu:" + "t" * 129, "Tag is longer than 128 characters (129)"),
        ("ubuntu@sha256:abc", 'Invalid digest "sha256:abc": expected sha256: followed by 64 hex characters'),
        (f"ubuntu@sha256:{SHA.upper()}", 'expected sha256: followed by 64 hex characters (0-9, a-f), found "A"'),
        (f"ubuntu@sha256:{SHA[:-1]}g", 'found "g"'),
        (f"ubuntu@sha256:{SHA}0", "(0-9, a-f), got 65"),
        (f"ubuntu@sha512:{SHA}", "expected sha512: followed by 128 hex characters (0-9, a-f), got 64"),
        ("ubuntu@" + SHA, "Invalid digest"),
        (f"ubuntu@SHA256:{SHA}", 'Digest algorithm must be lowercase: "SHA256"'),
        ("ubuntu@md5:abc", 'the part after "md5:" must be at least 32 hex characters'),
        (f"ubuntu@1sha:{SHA}", 'Invalid digest algorithm "1sha"'),
        ("ubuntu@", 'Missing digest after "@"'),
        (f"@sha256:{SHA}", 'Missing repository name before "@"'),
        (f"a@b@sha256:{SHA}", 'more than one "@"'),
        ("a//b", 'Repository name contains an empty part ("//"): "a//b"'),
        ("ghcr.io//b", 'Repository name contains an empty part ("//"): "/b"'),
        ("/ubuntu", 'Repository name must not start with "/": "/ubuntu"'),
        ("ubuntu/", 'Repository name must not end with "/": "ubuntu/"'),
        ("-ubuntu", 'must start with a lowercase letter or digit: "-ubuntu"'),
        ("_ubuntu", 'must start with a lowercase letter or digit: "_ubuntu"'),
        ("a/.b", 'must start with a lowercase letter or digit: ".b"'),
        ("ubuntu-", 'must end with a lowercase letter or digit: "ubuntu-"'),
        ("a..b", 'Invalid separator ".." in "a..b"'),
        ("a___b", 'Invalid separator "___" in "a___b"'),
        ("a.-b", 'Invalid separator ".-" in "a.-b"'),
        ("ubuntu:", 'Missing tag after ":": "ubuntu:"'),
        ("localhost:5000/app:", 'Missing tag after ":"'),
        (":latest", 'Missing repository name before ":"'),
        ("ubu ntu", 'Image reference must not contain spaces: "ubu ntu"'),
        ("ubuntu :22.04", "must not contain spaces"),
        ("ghcr.io/", 'Missing repository name after registry "ghcr.io"'),
        ("ghcr.io:abc/app", 'Registry port must be digits only: "abc" in "ghcr.io:abc"'),
        ("ghcr.io:/app", 'Missing port number after ":" in registry "ghcr.io:"'),
        ("ubuntu:22.04/app", 'Registry port must be digits only: "22.04"'),
        ("-bad.io/app", 'Registry host parts must not start or end with "-": "-bad" in "-bad.io"'),
        # A dotted first part is a host, and hosts allow no "_" (paths do).
        ("a.b_c/f", 'Invalid character "_" in registry host "a.b_c"'),
        ("bad..io/app", 'Registry host "bad..io" has an empty part'),
        ("b_d.io/app", 'Invalid character "_" in registry host "b_d.io"'),
        ("::1/app", 'IPv6 registry addresses must be written in brackets, e.g. "[::1]:5000"'),
        ("[::1/app", 'Missing "]" after the IPv6 address in registry "[::1"'),
        ("[zz::1]/app", 'Invalid IPv6 address "zz::1"'),
        ("[:]/app", 'Invalid IPv6 address ":"'),
        ("[::1]x/app", 'Expected ":port" after "]"'),
        ("[::1]:5000", 'Registry "[::1]:5000" must be followed by "/" and a repository name'),
        ("a" * 64, "Repository name must not be 64 hex characters (that is an image ID)"),
        ("a" * 64 + ":v1", "Repository name must not be 64 hex characters"),
        ("/".join(["a" * 63] * 4) + "b", "Repository name is longer than 255 characters (256)"),
        ("x.io/" + "/".join(["a" * 63] * 4), "Repository name is longer than 255 characters (260)"),
        ("ubuntu\x00", 'Invalid character "\\x00" in repository name'),
        ("ubüntu", 'Invalid character "ü" in repository name "ubüntu"'),
        ("ubuntu:tãg", 'Invalid character "ã" in tag'),
    ],
)
def test_invalid_references(text, message):
    with pytest.raises(BadReference, match=re.escape(message)):
        parse_reference(text)


def test_bad_reference_is_a_value_error_with_the_message():
    with pytest.raises(ValueError) as info:
        parse_reference("Ubuntu")
    assert isinstance(info.value, BadReference)
    assert info.value.message == str(info.value)


def test_long_input_is_shortened_in_the_message():
    with pytest.raises(BadReference) as info:
        parse_reference("ubuntu:" + "t" * 500)
    assert len(str(info.value)) < 120


def test_non_string_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_reference(None)  # type: ignore[arg-type]


# --- direct construction validates too ----------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"registry": None, "path": "Ubuntu"}, "must be lowercase"),
        ({"registry": "myhost", "path": "app"}, 'Not a registry host: "myhost"'),
        ({"registry": None, "path": "a.b/c"}, 'First part "a.b" of "a.b/c" would be read as a registry host'),
        ({"registry": None, "path": "localhost/c"}, "would be read as a registry host"),
        ({"registry": "", "path": "c"}, "Registry host is empty"),
        ({"registry": None, "path": "x", "tag": ""}, "Empty tag"),
        ({"registry": None, "path": "x", "digest": "sha256:1"}, "Invalid digest"),
        ({"registry": None, "path": "x", "digest": "nocolon"}, 'Invalid digest "nocolon"'),
    ],
)
def test_construction_validates(fields, message):
    fields = {"tag": None, "digest": None, **fields}
    with pytest.raises(BadReference, match=re.escape(message)):
        ImageReference(**fields)


# --- is_image_id_like -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SHA, True),
        (f"sha256:{SHA}", True),
        (SHA[:12], True),
        (f"sha256:{SHA[:12]}", True),
        (f" {SHA[:20]} ", True),
        (SHA[:11], False),
        (SHA + "0", False),
        (SHA.upper(), False),
        (f"sha512:{SHA}", False),
        ("ubuntu", False),
        ("", False),
        ("sha256:", False),
    ],
)
def test_is_image_id_like(text, expected):
    assert is_image_id_like(text) is expected


# --- property tests, strategies built from the grammar ----------------------------------

LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
ALNUM = LOWER_ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WORD = ALNUM + "_"

alphanumeric = st.text(LOWER_ALNUM, min_size=1, max_size=6)
separator = st.sampled_from([".", "_", "__", "-", "--", "---"])
path_component = st.builds(
    lambda head, tail: head + "".join(sep + part for sep, part in tail),
    alphanumeric,
    st.lists(st.tuples(separator, alphanumeric), max_size=3),
)
path = st.lists(path_component, min_size=1, max_size=4).map("/".join)

domain_label = st.one_of(
    st.text(ALNUM, min_size=1, max_size=1),
    st.builds(
        lambda a, mid, b: a + mid + b,
        st.text(ALNUM, min_size=1, max_size=1),
        st.text(ALNUM + "-", max_size=8),
        st.text(ALNUM, min_size=1, max_size=1),
    ),
)
port = st.integers(min_value=0, max_value=99999).map(str)
ipv6 = (
    st.ip_addresses(v=6)
    .map(lambda address: ipaddress.IPv6Address(int(address)).compressed)
    # IPv4-mapped forms with dots and zone ids are outside the grammar.
    .filter(lambda text: "." not in text)
    .map(lambda text: f"[{text}]")
)
# Only hosts docker reads as a registry: a dot, a port, or "localhost" (or IPv6).
registry = st.one_of(
    st.lists(domain_label, min_size=2, max_size=4).map(".".join),
    st.builds(lambda host, p: f"{host}:{p}", st.lists(domain_label, min_size=1, max_size=3).map(".".join), port),
    st.just("localhost"),
    ipv6,
    st.builds(lambda host, p: f"{host}:{p}", ipv6, port),
)
tag = st.builds(
    lambda head, tail: head + tail,
    st.text(WORD, min_size=1, max_size=1),
    st.one_of(st.text(WORD + ".-", max_size=10), st.text(WORD + ".-", min_size=120, max_size=127)),
)
hex_lower = "0123456789abcdef"
digest_algorithm = st.builds(
    lambda head, tail: head + "".join(sep + part for sep, part in tail),
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True),
    st.lists(
        st.tuples(st.sampled_from("-_+."), st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,4}", fullmatch=True)),
        max_size=2,
    ),
).filter(lambda algorithm: algorithm.lower() not in {"sha256", "sha384", "sha512"})
digest = st.one_of(
    st.text(hex_lower, min_size=64, max_size=64).map(lambda h: f"sha256:{h}"),
    st.text(hex_lower, min_size=96, max_size=96).map(lambda h: f"sha384:{h}"),
    st.text(hex_lower, min_size=128, max_size=128).map(lambda h: f"sha512:{h}"),
    st.builds(lambda a, h: f"{a}:{h}", digest_algorithm, st.text(hex_lower + "ABCDEF", min_size=32, max_size=80)),
)


@st.composite
def reference_parts(draw):
    reg = draw(st.none() | registry)
    p = draw(path)
    if reg is None:
        first, _, rest = p.partition("/")
        # Without a registry, a first part with a dot (or "localhost") would be
        # read back as one: the grammar is ambiguous there and docker picks "host".
        assume(not rest or ("." not in first and first != "localhost"))
        assume(not re.fullmatch(r"[a-f0-9]{64}", p))
    name = f"{reg}/{p}" if reg else p
    assume(len(name) <= 255)
    return reg, p, draw(st.none() | tag), draw(st.none() | digest)


def render(reg, p, t, d):
    text = f"{reg}/{p}" if reg else p
    if t is not None:
        text += f":{t}"
    if d is not None:
        text += f"@{d}"
    return text


# The real grammar as one regular expression (distribution/reference regexp.go),
# written independently of the module: whatever the module accepts must match it.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(
    rf"({_NAME})(?::([\w][\w.-]{{0,127}}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}}))?",
    re.ASCII,
)


@PROPERTY_SETTINGS
@given(reference_parts(), st.booleans())
def test_grammar_references_parse_and_round_trip(parts, default_tag):
    reg, p, t, d = parts
    text = render(reg, p, t, d)
    ref = parse_reference(text, default_tag=default_tag)

    assert ref.registry == reg
    assert ref.path == p
    assert ref.digest == d
    expected_tag = t if t is not None or d is not None or not default_tag else "latest"
    assert ref.tag == expected_tag
    assert str(ref) == (text if t is not None or d is not None else f"{text}:latest")
    assert _REFERENCE.fullmatch(str(ref))

    again = parse_reference(str(ref))
    assert str(again) == str(ref)
    assert parse_reference(str(again)) == again
    assert again.pull_args() == ref.pull_args()


# Text near the grammar finds more edge cases than uniformly random Unicode.
near_reference_text = st.lists(
    st.sampled_from(list("abcxyzAZ019fe-_.:/@[]") + ["sha256:", "localhost", " ", "é", "\x00", "//", "__"]),
    max_size=25,
).map("".join)


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=60), near_reference_text, reference_parts().map(lambda p: render(*p) + "!")))
def test_any_text_parses_or_raises_bad_reference(text):
    try:
        ref = parse_reference(text)
    except BadReference as error:
        assert str(error)
        return
    # Accepted: never more than the real grammar allows, and stable when printed.
    assert _REFERENCE.fullmatch(str(ref))
    assert str(parse_reference(str(ref))) == str(ref)


@PROPERTY_SETTINGS
@given(reference_parts(), st.data())
def test_uppercase_in_path_is_rejected(parts, data):
    reg, p, t, d = parts
    letters = [i for i, ch in enumerate(p) if ch.isalpha()]
    assume(letters)
    i = data.draw(st.sampled_from(letters))
    shouted = p[:i] + p[i].upper() + p[i + 1 :]
    with pytest.raises(BadReference, match="Repository names must be lowercase"):
        parse_reference(render(reg, shouted, t, d))
