from django.urls import path

from images_app.views import pulls

urlpatterns = [
    path("pulls/", pulls.pull_list, name="pull_list"),
    path("pulls/new/", pulls.pull_create, name="pull_create"),
    path("pulls/<int:pk>/", pulls.pull_detail, name="pull_detail"),
    path("pulls/<int:pk>/cancel/", pulls.pull_cancel_view, name="pull_cancel"),
    path("pulls/<int:pk>/events/", pulls.pull_events, name="pull_events"),
]
