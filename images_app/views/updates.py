"""Update pages: "check now" and "pull all updates" (one confirmation page). The badges live on the images pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from images_app.environments import environment_get
from images_app.roles import AuthenticatedRequest
from images_app.selectors.updates import outdated_for_environment, update_run_of
from images_app.services.pulls import pull_start
from images_app.services.updates import updates_check_request


@require_POST
@permission_required("images_app.check_updates", raise_exception=True)
def updates_check_now(request: AuthenticatedRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    updates_check_request(user=request.user, environment=environment, request=request)
    messages.success(request, "Update check started: the badges refresh when it is done (reload the page).")
    return redirect("image_list", env=environment.name)


@permission_required("images_app.pull_image", raise_exception=True)
def updates_pull_all(request: AuthenticatedRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    # The list is read again on POST: only tags that are outdated now are pulled, whatever was posted.
    outdated = outdated_for_environment(environment)
    if request.method == "POST":
        chosen = set(request.POST.getlist("ref"))
        started = joined = 0
        for item in outdated:
            if item.reference not in chosen:
                continue
            _job, was_joined = pull_start(
                user=request.user, environment=environment, reference=item.reference, request=request
            )
            joined += was_joined
            started += not was_joined
        if started or joined:
            messages.success(
                request, f"{started} pull(s) queued" + (f", {joined} already running" if joined else "") + "."
            )
        else:
            messages.info(request, "Nothing to pull: none of the chosen tags has an update now.")
        return redirect("pull_list", env=environment.name)
    context = {"environment": environment, "outdated": outdated, "update_run": update_run_of(environment)}
    return render(request, "updates/pull_all.html", context)
