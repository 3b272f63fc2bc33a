"""URLs of the example project: the admin."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/")),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
