from django.urls import path

from images_app.views import cleanup_requests

urlpatterns = [
    path("requests/", cleanup_requests.request_list, name="request_list"),
    path("requests/<int:pk>/", cleanup_requests.request_detail, name="request_detail"),
    path("requests/<int:pk>/approve/", cleanup_requests.request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", cleanup_requests.request_reject, name="request_reject"),
]
