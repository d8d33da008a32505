from django.urls import path

from images_app.views import notifications

urlpatterns = [
    path("notifications/", notifications.channel_list, name="notification_channels"),
    path("notifications/channels/new/", notifications.channel_create, name="notification_channel_create"),
    path("notifications/channels/<int:pk>/", notifications.channel_edit, name="notification_channel_edit"),
    path(
        "notifications/channels/<int:pk>/delete/", notifications.channel_delete_view, name="notification_channel_delete"
    ),
    path("notifications/preferences/", notifications.notification_preferences, name="notification_preferences"),
]
