"""URLs of the example project: the admin, the API, its OpenAPI schema and Swagger UI."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("data_exchange_tool.api.urls")),
    path("", RedirectView.as_view(url="/admin/")),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
