from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from oncall import health
from oncall.admin_login import ThrottledMemberAuthenticationForm
from scheduling.feed_views import ical_feed

# There is no public site behind the admin: its "View site" link led to a 404.
admin.site.site_url = None


class SwaggerView(SpectacularSwaggerView):
    # An HTML page: DRF's OPTIONS answer would be rendered through its template
    # renderer with no template, a 500.  It has nothing to say to OPTIONS anyway.
    http_method_names = ["get", "head"]


handler400 = "oncall.api_errors.handler400"
handler404 = "oncall.api_errors.handler404"
handler500 = "oncall.api_errors.handler500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/v1/", include("scheduling.urls")),
    path("api/v1/", include("alerts.webhooks.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("ical/<str:token>.ics", ical_feed, name="ical-feed"),
    path("twilio/", include("alerts.webhooks.twilio_urls")),
    path("handoffs/", include("alerts.member_pages.urls")),
    # Engineers sign in here for their handoff pages (the admin's login is for
    # staff only); failures are throttled like the admin's.
    path(
        "login/",
        LoginView.as_view(
            authentication_form=ThrottledMemberAuthenticationForm,
            template_name="member_pages/login.html",
        ),
        name="login",
    ),
]
