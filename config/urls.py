from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from images_app.views import accounts, home

env_patterns = [
    path("", include("images_app.urls.images")),
    path("", include("images_app.urls.pulls")),
    path("", include("images_app.urls.removal")),
    path("", include("images_app.urls.search")),
    path("", include("images_app.urls.updates")),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("images/", home.images_default, name="images_default"),
    path("env/<slug:env>/", include(env_patterns)),
    path("", include("images_app.urls.cleanup_requests")),
    path("", include("images_app.urls.audit")),
    path("", include("images_app.urls.registries")),
    path("", include("images_app.urls.policies")),
    path("", include("images_app.urls.users")),
    path("", include("images_app.urls.notifications")),
    path("", include("images_app.urls.tokens")),
    path("api/", include("images_app.api.urls")),
    path(
        "login/",
        login_not_required(
            auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True)
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", accounts.setup, name="setup"),
    path("admin/", admin.site.urls),
]
