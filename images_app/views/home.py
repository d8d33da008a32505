from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

from images_app.environments import default_environment_name


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("env_home", env=default_environment_name())


@require_safe
def images_default(request: HttpRequest) -> HttpResponse:
    return redirect("image_list", env=default_environment_name())
