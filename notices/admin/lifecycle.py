"""Admin actions that end a case or a notice by a state change instead of a deletion: the reason is asked on
an intermediate page (as Django's own delete confirmation asks), then each selected object goes through the
lifecycle service (`notices.services.lifecycle`); a refusal is a message naming the object."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from notices.errors import NoticeError

SHOWN = 100  # objects listed on the intermediate page; the rest are counted


def refusal(exc: NoticeError) -> str:
    return " ".join(message for problems in exc.errors.values() for message in problems)


def each(modeladmin, request, objects, apply: Callable, done: str) -> None:
    """`apply(obj)` for each object; refusals (NoticeError) become error messages, the rest one summary."""
    count = 0
    for obj in objects:
        try:
            apply(obj)
        except NoticeError as exc:
            modeladmin.message_user(request, f"{obj}: {refusal(exc)}", messages.ERROR)
            continue
        count += 1
    if count:
        modeladmin.message_user(request, done.format(count=count))


def reason_step(
    modeladmin,
    request,
    queryset,
    *,
    form_class,
    title: str,
    button: str,
    apply,
    done: str,
    explain: str = "",
    narrow: Callable | None = None,
):
    """The action's two steps. From the change list: the page with the reason form and the selection. Its
    POST (`apply` set) with a valid form runs `apply(obj, cleaned_data)` on each selected object — of those
    `narrow(queryset)` leaves, when given — and goes back to the change list (None); an invalid one shows the
    page again with the errors."""
    submitted = request.POST.get("apply") == "yes"
    form = form_class(request.POST if submitted else None)
    if submitted and form.is_valid():
        objects = narrow(queryset) if narrow else queryset
        each(modeladmin, request, objects, lambda obj: apply(obj, form.cleaned_data), done)
        return None
    shown = list(queryset[: SHOWN + 1])
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "button": button,
        "help": explain,
        "form": form,
        "objects": shown[:SHOWN],
        "more": len(shown) > SHOWN,
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/notices/reason_action.html", context)
