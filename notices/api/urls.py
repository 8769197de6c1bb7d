from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from notices.api import blocklist_views, exchange_views, inbound_views, order_views, provider_views, views

v1 = [
    path("reports/", views.ReportCreateView.as_view(), name="report-create"),
    path("reports/bulk/", views.ReportBulkView.as_view(), name="report-bulk"),
    path("reports/<str:receipt>/", views.ReportReceiptView.as_view(), name="report-receipt"),
    path("urls/", views.UrlListView.as_view(), name="url-list"),
    path("urls/<int:pk>/", views.UrlDetailView.as_view(), name="url-detail"),
    path("urls/<int:pk>/assess/", views.UrlAssessView.as_view(), name="url-assess"),
    path("urls/<int:pk>/trace/", views.UrlTraceView.as_view(), name="url-trace"),
    path("urls/<int:pk>/close/", views.UrlCloseView.as_view(), name="url-close"),
    path("urls/<int:pk>/reopen/", views.UrlReopenView.as_view(), name="url-reopen"),
    path("urls/<int:pk>/holds/", order_views.UrlHoldsView.as_view(), name="url-holds"),
    path("holds/<int:pk>/clear/", order_views.HoldClearView.as_view(), name="hold-clear"),
    path("notices/", views.NoticeListCreateView.as_view(), name="notice-list"),
    path("notices/<str:reference>/", views.NoticeDetailView.as_view(), name="notice-detail"),
    path("notices/<str:reference>/send/", views.NoticeSendView.as_view(), name="notice-send"),
    path("notices/<str:reference>/withdraw/", views.NoticeWithdrawView.as_view(), name="notice-withdraw"),
    path("notices/<str:reference>/order/", order_views.NoticeOrderView.as_view(), name="notice-order"),
    path(
        "notices/<str:reference>/order/pause/",
        order_views.NoticeOrderPauseView.as_view(),
        name="notice-order-pause",
    ),
    path(
        "notices/<str:reference>/order/resume/",
        order_views.NoticeOrderResumeView.as_view(),
        name="notice-order-resume",
    ),
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
    path(
        "providers/<slug:slug>/scorecard/", views.ProviderScorecardView.as_view(), name="provider-scorecard"
    ),
    path("stats/time-to-removal/", views.TtrStatsView.as_view(), name="stats-ttr"),
    path("stats/yearly/", views.YearlyStatsView.as_view(), name="stats-yearly"),
    path("stats/transparency/", views.TransparencyView.as_view(), name="stats-transparency"),
    path("exchange/cases/", exchange_views.ExchangeCasesView.as_view(), name="exchange-cases"),
    path("statements/", exchange_views.TdbStatementsView.as_view(), name="tdb-statements"),
    path("stats/trusted-flagger-report/", views.TrustedFlaggerView.as_view(), name="stats-trusted-flagger"),
    path("blocklist/", blocklist_views.BlocklistView.as_view(), name="blocklist"),
    path("inbound/mail/", inbound_views.InboundMailView.as_view(), name="inbound-mail"),
    path("provider/notices/", provider_views.ProviderNoticeListView.as_view(), name="provider-notice-list"),
    path(
        "provider/notices/<str:reference>/",
        provider_views.ProviderNoticeDetailView.as_view(),
        name="provider-notice-detail",
    ),
    path(
        "provider/notices/<str:reference>/responses/",
        provider_views.ProviderResponseCreateView.as_view(),
        name="provider-response-create",
    ),
    path(
        "provider/notices/<str:reference>/statements/",
        provider_views.ProviderStatementsView.as_view(),
        name="provider-statements",
    ),
]

urlpatterns = [
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from its own URL (?script): no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="notices/api_docs.html"),
        name="docs",
    ),
]
