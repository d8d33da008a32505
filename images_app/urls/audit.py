from django.urls import path

from images_app.views import audit

urlpatterns = [
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit_detail"),
    path("audit/export.<str:fmt>", audit.audit_export, name="audit_export"),
]
