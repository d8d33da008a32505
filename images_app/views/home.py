from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from images_app.environments import default_environment_name


def home(request: HttpRequest) -> HttpResponse:
    return redirect("env_home", env=default_environment_name())


def images_default(request: HttpRequest) -> HttpResponse:
    return redirect("image_list", env=default_environment_name())
