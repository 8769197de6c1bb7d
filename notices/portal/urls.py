from django.contrib.auth import views as auth_views
from django.urls import path

from notices.portal.views import accounts, notices, organisation

app_name = "portal"

urlpatterns = [
    path("", notices.notice_list, name="notices"),
    path("notices/<str:reference>/", notices.notice_detail, name="notice"),
    path("notices/<str:reference>/respond/<str:action>/", notices.notice_respond, name="respond"),
    path("notices/<str:reference>/status.json", notices.notice_status, name="notice-status"),
    path("notices/<str:reference>/xarf.json", notices.download_xarf, name="xarf"),
    path("notices/<str:reference>/xarf/<int:url_id>.json", notices.download_xarf, name="xarf-url"),
    path("notices/<str:reference>/urls.csv", notices.download_csv, name="csv"),
    path("notices/<str:reference>/statements.json", notices.download_statements, name="statements"),
    path("one-click/<str:token>/", notices.one_click, name="one-click"),
    path("login/", accounts.login_view, name="login"),
    path("login/verify/", accounts.verify_view, name="verify"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", accounts.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/", accounts.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("invitation/<str:token>/", accounts.accept_invitation, name="invitation"),
    path("account/", accounts.account_view, name="account"),
    path("account/2fa/start/", accounts.totp_start, name="totp-start"),
    path("account/2fa/confirm/", accounts.totp_confirm, name="totp-confirm"),
    path("account/2fa/disable/", accounts.totp_disable, name="totp-disable"),
    path("language/", accounts.set_language, name="language"),
    path("team/", organisation.team, name="team"),
    path("team/invitations/<int:pk>/revoke/", organisation.revoke_invitation, name="invitation-revoke"),
    path("keys/", organisation.api_keys, name="keys"),
    path("keys/<int:pk>/revoke/", organisation.revoke_key, name="key-revoke"),
    path("webhook/", organisation.webhook, name="webhook"),
    path("webhook/disable/", organisation.webhook_disable, name="webhook-disable"),
]
