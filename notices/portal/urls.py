from django.contrib.auth import views as auth_views
from django.urls import path

from notices.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.notice_list, name="notices"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="notices/portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("notices/<str:reference>/", views.notice_detail, name="notice"),
    path("one-click/<str:token>/", views.one_click, name="one-click"),
]
