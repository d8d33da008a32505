"""What pages show about updates: stored check answers joined with the local images (no registry call).

Pages never ask a registry: they read UpdateCheck (one query per page) and decide each tag's
state from the image they already have (update_state.decide).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from images_app import engine
from images_app.environments import row_read_with
from images_app.models import Environment, UpdateCheck, UpdateRun
from images_app.update_state import CheckKey, RemoteAnswer, Verdict, check_key, decide

if TYPE_CHECKING:
    from images_app.engine import ImageInfo
    from images_app.selectors.images import ImageRow

OUTDATED = "outdated"


@lru_cache(maxsize=8192)
def _key(repo_tag: str) -> CheckKey | None:
    # The list, the filter and the dashboard parse the same few hundred tags on every page.
    return check_key(repo_tag)


def _answers(keys: Iterable[CheckKey | None]) -> dict[CheckKey, RemoteAnswer]:
    wanted = {k for k in keys if k is not None}
    if not wanted:
        return {}
    rows = UpdateCheck.objects.filter(repository__in={k.repository for k in wanted}).values_list(
        "registry", "repository", "tag", "remote_digest", "reason", "checked_at", "remote_created", "message"
    )
    answers = {}
    for registry, repository, tag, digest, reason, checked_at, created, message in rows:
        key = CheckKey(registry, repository, tag)
        if key in wanted:
            answers[key] = RemoteAnswer(
                digest=digest, reason=reason, checked_at=checked_at, created=created, message=message
            )
    return answers


def verdicts_for_rows(rows: Sequence[ImageRow]) -> dict[str, Verdict]:
    """Each row's update state by its reference (rows of untagged images without digest have none)."""
    keys = {row.reference: _key(row.reference) if row.tagged else None for row in rows}
    answers = _answers(keys.values())
    verdicts = {}
    for row in rows:
        key = keys[row.reference]
        verdict = decide(
            key=key,
            tagged=row.tagged,
            repo_digests=row.image.repo_digests,
            remote=answers.get(key) if key is not None else None,
        )
        if verdict is not None:
            verdicts[row.reference] = verdict
    return verdicts


def outdated_rows(rows: Sequence[ImageRow]) -> list[ImageRow]:
    """The rows whose registry serves something newer under their tag (status=outdated)."""
    verdicts = verdicts_for_rows(rows)
    return [row for row in rows if (v := verdicts.get(row.reference)) is not None and v.outdated]


def verdicts_for_image(repo_tags: Sequence[str], repo_digests: Sequence[str]) -> list[tuple[str, Verdict]]:
    """(tag, state) for each tag of one image (the image page); an untagged one pulled by digest says so."""
    if not repo_tags:
        verdict = decide(key=None, tagged=False, repo_digests=repo_digests, remote=None)
        return [("<none>", verdict)] if verdict is not None else []
    keys = {tag: _key(tag) for tag in repo_tags}
    answers = _answers(keys.values())
    result = []
    for tag, key in keys.items():
        verdict = decide(
            key=key, tagged=True, repo_digests=repo_digests, remote=answers.get(key) if key is not None else None
        )
        if verdict is not None:
            result.append((tag, verdict))
    return result


@dataclass(frozen=True)
class OutdatedTag:
    reference: str  # the local tag, as the engine names it
    image_id: str
    verdict: Verdict


def outdated_tags(images: Iterable[ImageInfo]) -> list[OutdatedTag]:
    """Every local tag with an update available, from an image list the caller already has."""
    pairs = [(image, tag) for image in images for tag in image.repo_tags]
    answers = _answers(_key(tag) for _, tag in pairs)
    found = []
    for image, tag in pairs:
        key = _key(tag)
        verdict = decide(
            key=key, tagged=True, repo_digests=image.repo_digests, remote=answers.get(key) if key else None
        )
        if verdict is not None and verdict.outdated:
            found.append(OutdatedTag(reference=tag, image_id=image.id, verdict=verdict))
    return sorted(found, key=lambda item: item.reference)


def outdated_for_environment(environment: Environment) -> list[OutdatedTag]:
    """Every tag of this engine with an update available: one engine call (its image list) and one query."""
    return outdated_tags(engine.list_images(environment))


def update_run_of(environment: Environment) -> UpdateRun | None:
    """The environment's last (or running) update check, for "checked 12 minutes ago"."""
    read, run = row_read_with(environment, "update_run", UpdateRun)
    return run if read else UpdateRun.objects.filter(environment=environment).first()
