"""The portal's error summary: every problem of every bound form on the page, at the top, linking to its
field."""

from __future__ import annotations

from django import forms, template

register = template.Library()


def _forms_in(context) -> list[forms.BaseForm]:
    """Forms in the template context, directly or as values of a dict (the notice page's `forms`)."""
    found: dict[int, forms.BaseForm] = {}
    for value in context.flatten().values():
        candidates = value.values() if isinstance(value, dict) else [value]
        for candidate in candidates:
            if isinstance(candidate, forms.BaseForm):
                found.setdefault(id(candidate), candidate)
    return list(found.values())


def _anchor(bound: forms.BoundField) -> str:
    # Checkbox and radio groups have no single labelled input; their group carries the id.
    return bound.id_for_label or bound.auto_id or ""


@register.inclusion_tag("notices/portal/error_summary.html", takes_context=True)
def error_summary(context) -> dict:
    problems = []
    for form in _forms_in(context):
        if not form.is_bound or not form.errors:
            continue
        problems.extend({"text": text, "anchor": ""} for text in form.non_field_errors())
        for bound in form:
            for text in bound.errors:
                problems.append({"label": bound.label, "text": text, "anchor": _anchor(bound)})
    return {"problems": problems}
