from django.urls import path

from images_app.views import images

urlpatterns = [
    path("", images.env_home, name="env_home"),
    path("images/", images.image_list, name="image_list"),
    path("images/<str:image_id>/", images.image_detail, name="image_detail"),
]
