"""Berth's URLs plus a stand-in `pull_create`, for testing links to the pull form before it is merged.

Tests compare hrefs with reverse() under this same urlconf, so they keep passing when the real
pull form exists (whichever of the two the resolver then picks).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as berth_urlpatterns


def _pull_form_stand_in(request: HttpRequest, env: str) -> HttpResponse:
    return HttpResponse("pull form stand-in")


urlpatterns = [
    *berth_urlpatterns,
    path("env/<slug:env>/pulls/new/", _pull_form_stand_in, name="pull_create"),
]
