"""The single gate in front of every staff URL: the admin site and everything under its prefix (the dashboard,
the sign-in and re-authentication pages).

- A staff user signed in without the staff second factor (through another sign-in page) is anonymous here:
  the admin answers with its sign-in page, and nothing of the admin is shown.
- A session idle for longer than STAFF_SESSION_IDLE_TIMEOUT, signed in longer ago than STAFF_SESSION_MAX_AGE,
  or signed in with a factor a supervisor has reset since, is signed out, with a message saying why.
- Any other staff request keeps its session alive (the idle timeout starts again).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from notices.admin import staff_session

ENDINGS = {
    staff_session.IDLE: "You were signed out after a time without activity. Please sign in again.",
    staff_session.EXPIRED: "Your session reached its maximum length. Please sign in again.",
    staff_session.RESET: "Your second factor was reset. Sign in again to set up a new one.",
}


class StaffSignInGate:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(reverse("admin:index")) and request.user.is_staff:
            now = timezone.now()
            problem = staff_session.problem(request.session, request.user, now=now)
            if problem == staff_session.UNVERIFIED:
                request.user = AnonymousUser()
            elif problem:
                logout(request)
                messages.info(request, ENDINGS[problem])
            else:
                staff_session.touch(request.session, now=now)
        return self.get_response(request)
