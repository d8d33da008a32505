from django.urls import path

from images_app.views import registries

urlpatterns = [
    path("registries/", registries.registry_list, name="registry_list"),
    path("registries/add/", registries.registry_create, name="registry_create"),
    path("registries/<int:pk>/", registries.registry_browse, name="registry_browse"),
    path("registries/<int:pk>/edit/", registries.registry_edit, name="registry_edit"),
    path("registries/<int:pk>/delete/", registries.registry_delete, name="registry_delete"),
    path("registries/<int:pk>/repositories/<path:repository>/", registries.registry_tags, name="registry_tags"),
]
