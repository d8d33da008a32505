"""Answers worked out once per process because they depend on their input alone: they must equal a fresh one."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.templatetags.static import static
from django.test import override_settings

from images_app.forms.images import ImageFilterForm, list_query


def _draw(text: str) -> str:
    return Template("{% load berth %}" + text).render(Context())


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The unit tier has no collected manifest; the pages' tests draw these tags with it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_an_asset_url_is_the_static_tags_and_follows_a_changed_setting():
    assert _draw("{% asset 'css/berth.css' %}") == _draw("{% load static %}{% static 'css/berth.css' %}")
    assert _draw("{% asset 'css/berth.css' %}") == static("css/berth.css") != ""
    with override_settings(STATIC_URL="/elsewhere/"):
        assert _draw("{% asset 'css/berth.css' %}") == "/elsewhere/css/berth.css"
    assert _draw("{% asset 'css/berth.css' %}") == static("css/berth.css")


def test_an_odd_asset_name_comes_out_as_the_static_tag_writes_it():
    for name in ("a&b c.css", "js/<x>.js", "ü.css"):
        assert _draw(f"{{% asset '{name}' %}}") == _draw(f"{{% load static %}}{{% static '{name}' %}}")


@pytest.mark.parametrize(
    "query_string",
    [
        "",
        "q=nginx&status=unused&sort=size&order=asc",
        "reference=*/app:1.*&label=tier=web&unused_for=30d",
        "before=alpine:3&since=sha256:" + "a" * 64,
        "status=bogus",  # refused: not a choice
        "unused_for=soon",  # refused: not a duration
        "q=%01",  # refused: a control character
        "sort=size&sort=name",  # the form reads the last value, as Django's QueryDict gives it
    ],
)
def test_a_remembered_list_query_equals_a_new_forms_answer_every_time(query_string):
    params = QueryDict(query_string)
    form = ImageFilterForm(params)
    expected = form.query() if form.is_valid() else None
    assert list_query(params.urlencode()) == expected
    assert list_query(QueryDict(query_string).urlencode()) == expected  # asked again: the remembered answer, the same
