from django.urls import path

from images_app.views import updates

urlpatterns = [
    path("updates/check/", updates.updates_check_now, name="updates_check_now"),
    path("updates/pull/", updates.updates_pull_all, name="updates_pull_all"),
]
