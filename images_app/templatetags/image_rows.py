"""The images list's rows, rendered in Python.

A list page has up to BERTH_PAGE_SIZE rows of ~30 values each; through the template
engine they were most of the page's CPU (bench.load). Same markup, built with
format_html, which escapes every value exactly as the template did.
"""

from __future__ import annotations

from urllib.parse import quote

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from images_app.references import ImageStatus
from images_app.selectors.images import ImageRow
from images_app.sizes_and_ages import human_age, human_size

register = template.Library()

# reverse() once per page with this stand-in ID, then substitute each row's.
DETAIL_PLACEHOLDER = "0" * 12


def _status_cell(row: ImageRow) -> SafeString:
    status = row.status
    if status == ImageStatus.IN_USE:
        counts = f"{row.running_containers} running, {row.stopped_containers} stopped"
        return format_html('<span class="badge badge-inuse" title="{}">in use · {}</span>', counts, counts)
    if status == ImageStatus.DANGLING:
        return mark_safe('<span class="badge badge-dangling">dangling</span>')  # constant text
    return mark_safe('<span class="badge badge-unused">unused</span>')  # constant text


@register.simple_tag
def image_row(row: ImageRow, detail_url_pattern: str, can_select: bool, pull_url: str) -> SafeString:
    """One `<tr>` of the images table."""
    image = row.image
    short_id = image.short_id
    detail_url = detail_url_pattern.replace(DETAIL_PLACEHOLDER, short_id)
    created = localtime(image.created)
    select = (
        format_html(
            '<td class="select"><input type="checkbox" name="ref" value="{}" aria-label="Select {}"></td>',
            row.reference,
            row.reference,
        )
        if can_select
        else ""
    )
    same_image = (
        format_html(
            ' <span class="same-image" title="The same image as {}">tag {} of {}</span>',
            row.other_tags_text,
            row.tag_index,
            row.tag_count,
        )
        if row.tag_count > 1
        else ""
    )
    pull_again = (
        format_html(
            ' · <a href="{}?reference={}" class="pull-again">Pull again</a>', pull_url, quote(row.reference, safe="/")
        )
        if pull_url and row.tagged
        else ""
    )
    return format_html(
        '<tr data-image-id="{id}" data-reference="{ref}" class="status-{status}">{select}'
        '<td class="repo">{repo}</td>'
        '<td class="tag">{tag}{same_image}</td>'
        '<td class="id"><a href="{detail}"><code title="{id}">{short}</code></a>'
        ' <button type="button" class="copy js-copy" data-copy="{id}" title="Copy the full image ID" hidden>'
        "copy</button></td>"
        '<td class="created" title="{exact}"><time datetime="{iso}">{age}</time></td>'
        '<td class="num size" title="{size} bytes">{human}</td>'
        '<td class="status">{status_cell}</td>'
        '<td class="actions"><a href="{detail}" class="details-link">Details</a>{pull_again}</td></tr>',
        id=image.id,
        ref=row.reference,
        status=row.status,
        select=select,
        repo=row.repository,
        tag=row.tag,
        same_image=same_image,
        detail=detail_url,
        short=short_id,
        exact=created.strftime("%Y-%m-%d %H:%M:%S %Z"),
        iso=created.isoformat(),
        age=human_age(image.created),
        size=image.size,
        human=human_size(image.size),
        status_cell=_status_cell(row),
        pull_again=pull_again,
    )
