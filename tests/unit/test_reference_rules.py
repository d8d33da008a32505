"""The naming rules every part of Berth shares (images_app.references): one home, one test each."""

from __future__ import annotations

import pytest

from images_app.references import (
    ImageStatus,
    id_starts_with,
    image_status,
    is_docker_hub,
    looks_like_registry,
    parse_reference,
    registry_of,
    repository_of,
    same_registry,
    short_id,
    split_repo_tag,
)

FULL = "sha256:" + "0123456789ab" + "c" * 52


@pytest.mark.parametrize(
    ("repo_tag", "expected"),
    [
        ("app:1", ("app", "1")),
        ("localhost:5000/app:v1", ("localhost:5000/app", "v1")),
        ("localhost:5000/app", ("localhost:5000/app", "<none>")),
        ("app", ("app", "<none>")),
        ("[::1]:5000/app:2", ("[::1]:5000/app", "2")),
    ],
)
def test_repo_tags_split_as_docker_image_ls_shows_them(repo_tag, expected):
    assert split_repo_tag(repo_tag) == expected


@pytest.mark.parametrize(
    ("entry", "repository"),
    [
        ("app:1", "app"),
        ("localhost:5000/app:1", "localhost:5000/app"),
        ("localhost:5000/app@sha256:" + "d" * 64, "localhost:5000/app"),
    ],
)
def test_the_repository_of_a_repotags_or_repodigests_entry(entry, repository):
    assert repository_of(entry) == repository


def test_short_ids_are_twelve_hex_digits_with_or_without_the_algorithm():
    assert short_id(FULL) == short_id(FULL.removeprefix("sha256:")) == "0123456789ab"


@pytest.mark.parametrize("prefix", ["0123456789ab", "sha256:0123456789ab", FULL, FULL.removeprefix("sha256:")])
def test_an_id_starts_with_any_spelling_of_its_prefix(prefix):
    assert id_starts_with(FULL, prefix)


def test_an_id_does_not_start_with_another():
    assert not id_starts_with(FULL, "0123456789aa")


@pytest.mark.parametrize("host", ["docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO"])
def test_every_docker_hub_alias_is_docker_hub(host):
    assert is_docker_hub(host) and same_registry(host, "docker.io")


@pytest.mark.parametrize("host", ["ghcr.io", "localhost:5000", "docker.io.example.com"])
def test_other_hosts_are_not_docker_hub(host):
    assert not is_docker_hub(host) and not same_registry(host, "docker.io")


def test_a_reference_without_host_pulls_from_docker_hub():
    assert registry_of(parse_reference("ubuntu")) == "docker.io"
    assert registry_of(parse_reference("Registry.Example.com/app")) == "registry.example.com"


@pytest.mark.parametrize(
    ("component", "expected"), [("localhost", True), ("r.example", True), ("r:5000", True), ("myuser", False)]
)
def test_what_looks_like_a_registry(component, expected):
    assert looks_like_registry(component) is expected


@pytest.mark.parametrize(
    ("tagged", "containers", "status"),
    [
        (True, 0, ImageStatus.UNUSED),
        (False, 0, ImageStatus.DANGLING),
        (True, 2, ImageStatus.IN_USE),
        # An untagged image a container holds cannot be pruned: in use wins.
        (False, 1, ImageStatus.IN_USE),
    ],
)
def test_image_status(tagged, containers, status):
    assert image_status(tagged=tagged, containers=containers) == status


def test_status_choices_are_what_the_filter_offers():
    assert ImageStatus.choices() == [("in_use", "In use"), ("unused", "Unused"), ("dangling", "Dangling")]
