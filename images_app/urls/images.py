from django.urls import path, register_converter

from images_app.urls.converters import ImageIdConverter
from images_app.views import images

register_converter(ImageIdConverter, "imageid")

urlpatterns = [
    path("", images.env_home, name="env_home"),
    path("images/", images.image_list, name="image_list"),
    path("images/<imageid:image_id>/", images.image_detail, name="image_detail"),
]
