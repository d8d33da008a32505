"""The pull pages: ask for a pull, list pulls, watch one live, cancel it."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from images_app import pull_stream
from images_app.environments import environment_get
from images_app.models import PullJob, Registry
from images_app.references import BadReference, is_docker_hub, parse_reference, registry_of, same_registry
from images_app.roles import AuthenticatedRequest
from images_app.selectors.audit import audit_events_for, history_url
from images_app.selectors.pulls import pull_get, pull_get_fresh, pull_is_active, pull_state, pulls_recent, pulls_running
from images_app.selectors.registries import registries_all, registry_exists
from images_app.services.pulls import pull_can_cancel, pull_cancel, pull_start, pulls_sweep_stale


def registry_host(registry: Registry) -> str:
    """The host[:port] of a registry: "localhost:5000" from "http://localhost:5000/"."""
    url = registry.url.strip()
    url = url.split("://", 1)[1] if "://" in url else url
    return url.split("/", 1)[0].lower()


class PullForm(forms.Form):
    reference = forms.CharField(
        max_length=512,
        label="Image",
        help_text="As for docker pull: [registry/]repository[:tag][@digest]; the tag defaults to latest.",
    )
    registry = forms.ModelChoiceField(
        queryset=registries_all().none(),
        required=False,
        empty_label="None (public image)",
        help_text="Pull with this registry's stored credentials (sent for this pull only).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registries = registries_all()
        if registries.exists():
            cast("forms.ModelChoiceField[Registry]", self.fields["registry"]).queryset = registries
        else:
            del self.fields["registry"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        text = cleaned.get("reference")
        if not text:
            return cleaned
        try:
            ref = parse_reference(text)
            registry = cleaned.get("registry")
            if registry is not None:
                host = registry_host(registry)
                same = same_registry(registry_of(ref), host)
                if ref.registry is None and not is_docker_hub(host):
                    ref = dataclasses.replace(ref, registry=host)
                elif not same:
                    # Credentials go only to the registry they belong to.
                    self.add_error(
                        "registry",
                        f"This image is on {ref.registry or 'Docker Hub'}, not on {registry.name} ({host}).",
                    )
                    return cleaned
        except BadReference as exc:
            self.add_error("reference", exc.message)
            return cleaned
        cleaned["parsed"] = ref
        return cleaned


@permission_required("images_app.pull_image", raise_exception=True)
def pull_create(request: AuthenticatedRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    status = 200
    if request.method == "POST":
        form = PullForm(request.POST)
        if form.is_valid():
            job, joined = pull_start(
                user=request.user,
                environment=environment,
                reference=form.cleaned_data["parsed"],
                registry=form.cleaned_data.get("registry"),
                request=request,
            )
            if joined:
                messages.info(request, f"{job.reference} is already being pulled: showing that pull.")
            else:
                messages.success(request, f"Pull of {job.reference} queued.")
            return redirect("pull_detail", env=environment.name, pk=job.pk)
        status = 400
    else:
        # Links from search results, registry tags and image pages prefill the form.
        initial: dict[str, Any] = {"reference": request.GET.get("reference", "")}
        registry = request.GET.get("registry", "")
        if registry.isdigit() and len(registry) < 10 and registry_exists(int(registry)):
            initial["registry"] = int(registry)
        form = PullForm(initial=initial)
    return render(request, "pulls/form.html", {"environment": environment, "form": form}, status=status)


@require_safe
def pull_list(request: AuthenticatedRequest, env: str) -> HttpResponse:
    environment = environment_get(env)
    pulls_sweep_stale()
    context = {
        "environment": environment,
        "running": list(pulls_running(environment)),
        "recent": list(pulls_recent(environment)),
    }
    return render(request, "pulls/list.html", context)


def _job_or_404(environment: Any, pk: int) -> PullJob:
    job = pull_get(environment, pk)
    if job is None:
        raise Http404("No such pull in this environment")
    return job


@require_safe
def pull_detail(request: AuthenticatedRequest, env: str, pk: int) -> HttpResponse:
    environment = environment_get(env)
    pulls_sweep_stale()
    job = _job_or_404(environment, pk)
    context = {
        "environment": environment,
        "job": job,
        "state": pull_state(job),
        "audit_events": audit_events_for(pull_job=job),
        "audit_all_url": history_url(pull_job=job.pk),
        "can_cancel": job.is_active and pull_can_cancel(request.user, job),
    }
    return render(request, "pulls/detail.html", context)


@require_POST
def pull_cancel_view(request: AuthenticatedRequest, env: str, pk: int) -> HttpResponse:
    environment = environment_get(env)
    job = _job_or_404(environment, pk)
    outcome = pull_cancel(user=request.user, job=job, request=request)
    text = {
        "cancelled": "Pull cancelled.",
        "cancelling": "Cancelling: the worker stops the pull at its next progress event.",
        "finished": "This pull had already finished.",
    }[outcome]
    messages.info(request, text)
    return redirect("pull_detail", env=environment.name, pk=job.pk)


@require_safe
async def pull_events(request: HttpRequest, env: str, pk: int) -> HttpResponseBase:
    """Server-sent events of one pull: the state at once, then live progress until it ends."""
    user = await request.auser()
    if not user.is_authenticated:
        # LoginRequiredMiddleware already redirects; this guards against it being removed.
        return HttpResponseForbidden("Log in to watch pulls.")
    environment = await sync_to_async(environment_get)(env)
    await sync_to_async(pulls_sweep_stale)()
    job = await sync_to_async(pull_get)(environment, pk)
    if job is None:
        raise Http404("No such pull in this environment")

    async def database_state() -> dict[str, Any]:
        return await sync_to_async(pull_state)(await pull_get_fresh(pk))

    async def finished() -> bool:
        await sync_to_async(pulls_sweep_stale)()
        return not await pull_is_active(pk)

    if not job.is_active:
        stream = pull_stream.sse_finished(await database_state())
    else:
        stream = pull_stream.sse_stream(pk, database_state, finished)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx must not buffer a live stream
    return response
