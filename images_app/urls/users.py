from django.urls import path

from images_app.views import users

urlpatterns = [
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_new, name="user_new"),
    path("users/<int:pk>/role/", users.user_set_role, name="user_set_role"),
    path("users/<int:pk>/deactivate/", users.user_set_active, {"active": False}, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", users.user_set_active, {"active": True}, name="user_reactivate"),
]
