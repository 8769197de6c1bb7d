from django.contrib import admin
from django.urls import include, path

from notices import health, metrics
from notices.admin import sign_in
from notices.admin.dashboard import dashboard_view, scorecard_view, transparency_view, trusted_flagger_view
from notices.portal.views.report import report_form

urlpatterns = [
    path("admin/dashboard/", dashboard_view, name="dashboard"),
    path("admin/transparency/", transparency_view, name="transparency"),
    path("admin/trusted-flagger-report/", trusted_flagger_view, name="trusted_flagger_report"),
    path("admin/scorecard/<slug:slug>/", scorecard_view, name="scorecard"),
    path("admin/", include(sign_in)),  # the staff sign-in (password, second factor) before the admin's own
    path("admin/", admin.site.urls),
    path("api/", include("notices.api.urls")),
    path("portal/", include("notices.portal.urls")),
    path("report/", report_form, name="report"),  # the public report form (no login)
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus; token or network (README "Metrics")
    path("", health.home, name="home"),
]

handler404 = "notices.health.not_found"
handler500 = "notices.health.server_error"
