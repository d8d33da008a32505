"""Reads for the removal pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from images_app.models import RemovalJob


def removal_job_get(pk: int) -> RemovalJob:
    """One removal job with its creator and request; Http404 when there is none."""
    return get_object_or_404(RemovalJob.objects.select_related("environment", "created_by", "cleanup_request"), pk=pk)
