"""The real URLs plus stand-ins for the removal and pull pages the images pages link to.

Those areas may not exist on this branch; the images pages find them by url name.
"""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as real_patterns


def _stand_in(request, env):
    return HttpResponse("stand-in")


urlpatterns = [
    path("env/<slug:env>/remove/confirm/", _stand_in, name="image_remove_confirm"),
    path("env/<slug:env>/pulls/new/", _stand_in, name="pull_create"),
    *real_patterns,
]
