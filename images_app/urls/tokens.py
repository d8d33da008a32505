from django.urls import path

from images_app.views import tokens

urlpatterns = [
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
]
