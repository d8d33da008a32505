"""Notification pages: channels and deliveries (admins), and each person's own preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from images_app.forms.notifications import ChannelForm, PreferencesForm
from images_app.models import NotificationChannel
from images_app.roles import require_role
from images_app.selectors.notifications import deliveries_recent, failing_deliveries
from images_app.services.notifications import channel_delete, channel_save, preferences_of, preferences_set


@require_safe
@permission_required("images_app.manage_notifications", raise_exception=True)
def channel_list(request: HttpRequest) -> HttpResponse:
    context = {
        "channels": NotificationChannel.objects.all(),
        "deliveries": deliveries_recent(),
        "failing": failing_deliveries(),
        "nav_section": "notifications",
    }
    return render(request, "notifications/channels.html", context)


def _channel_form_page(request: HttpRequest, channel: NotificationChannel | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = ChannelForm(request.POST, channel=channel)
        if form.is_valid():
            data = form.cleaned_data
            saved = channel_save(
                actor=request.user,
                channel=channel,
                name=data["name"],
                kind=data["kind"],
                url=data["url"],
                email_to=data["email_to"],
                events=data["events"],
                enabled=data["enabled"],
                request=request,
            )
            messages.success(request, f"Channel {saved.name} saved.")
            return redirect("notification_channels")
        status = 400
    else:
        initial = {"enabled": True, "events": []}
        if channel is not None:
            initial = {
                "name": channel.name,
                "kind": channel.kind,
                "email_to": channel.email_to,
                "events": channel.events,
                "enabled": channel.enabled,
            }
        form = ChannelForm(initial=initial, channel=channel)
    context = {"form": form, "channel": channel, "nav_section": "notifications"}
    return render(request, "notifications/channel_form.html", context, status=status)


@permission_required("images_app.manage_notifications", raise_exception=True)
def channel_create(request: HttpRequest) -> HttpResponse:
    return _channel_form_page(request, None)


@permission_required("images_app.manage_notifications", raise_exception=True)
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _channel_form_page(request, get_object_or_404(NotificationChannel, pk=pk))


@require_POST
@permission_required("images_app.manage_notifications", raise_exception=True)
def channel_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=pk)
    channel_delete(actor=request.user, channel=channel, request=request)
    messages.success(request, f"Channel {channel.name} removed.")
    return redirect("notification_channels")


def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Each person chooses which events reach them by email (their own settings only)."""
    require_role(request.user)
    current = preferences_of(request.user)
    status = 200
    if request.method == "POST":
        form = PreferencesForm(request.POST, current=current)
        if form.is_valid():
            preferences_set(user=request.user, email=form.choices(), request=request)
            messages.success(request, "Your notification choices are saved.")
            return redirect("notification_preferences")
        status = 400
    else:
        form = PreferencesForm(current=current)
    context = {"form": form, "nav_section": "notifications"}
    return render(request, "notifications/preferences.html", context, status=status)
