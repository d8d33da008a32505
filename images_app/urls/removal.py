from django.urls import path

from images_app.models.cleanup import RemovalKind
from images_app.views import removal

urlpatterns = [
    path("images/remove/", removal.image_remove_confirm, name="image_remove_confirm"),
    path(
        "images/prune/",
        removal.image_cleanup_confirm,
        {"kind": RemovalKind.PRUNE_DANGLING},
        name="image_prune_confirm",
    ),
    path(
        "images/remove-unused/",
        removal.image_cleanup_confirm,
        {"kind": RemovalKind.REMOVE_UNUSED},
        name="image_remove_unused_confirm",
    ),
    path(
        "images/remove-all/",
        removal.image_cleanup_confirm,
        {"kind": RemovalKind.REMOVE_ALL},
        name="image_remove_all_confirm",
    ),
    path("removals/<int:pk>/", removal.removal_job_detail, name="removal_job_detail"),
]
