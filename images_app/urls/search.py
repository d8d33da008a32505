from django.urls import path

from images_app.views import search

urlpatterns = [
    path("search/", search.search, name="search"),
]
