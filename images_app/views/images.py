"""The images pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from images_app.environments import environment_get
from images_app.selectors.images import images_for_list


@require_safe
def image_list(request: HttpRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    rows = images_for_list(environment)
    return render(request, "images/list.html", {"environment": environment, "rows": rows})


@require_safe
def env_home(request: HttpRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    rows = images_for_list(environment)
    return render(request, "images/dashboard.html", {"environment": environment, "rows": rows})
