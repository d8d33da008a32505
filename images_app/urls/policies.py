from django.urls import path

from images_app.views import policies

urlpatterns = [
    path("policies/", policies.policy_list, name="policy_list"),
    path("policies/new/", policies.policy_edit, name="policy_create"),
    path("policies/<int:pk>/edit/", policies.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/preview/<slug:env>/", policies.policy_preview_view, name="policy_preview"),
]
