"""Portal forms. Validation of what a response means lives in the services; these only shape the input."""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from notices.enums import NoticeStatus, NoticeType
from notices.models import ApiKey, Invitation, Notice, WebhookEndpoint
from notices.services import sor

TEXTAREA = forms.Textarea(attrs={"rows": 3})

# HTML inputs whose value has one wire format, whatever the page's language: a browser drops a value of an
# <input type="date"> that is not yyyy-mm-dd and always submits yyyy-mm-dd. Rendering or parsing them in the
# locale's format (Django's default) loses the value in every language but English.
ISO_DATE = "%Y-%m-%d"


class IsoDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class IsoDateField(forms.DateField):
    """A date as <input type="date"> sends and shows it (yyyy-mm-dd), independent of the active language."""

    widget = IsoDateInput

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", [ISO_DATE])
        super().__init__(**kwargs)


def model_field(model, name: str, **kwargs) -> forms.Field:
    """The form field of a model field: its max_length, choices and validators, so input the database cannot
    hold is a form error, never a server error. `source` on the result names the model field."""
    field = model._meta.get_field(name)
    form_field = field.formfield(**kwargs)
    form_field.source = field
    return form_field


def _text_limit(name: str) -> int:
    return sor.TEXT_LIMITS[name]


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=get_user_model()._meta.get_field("username").max_length,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


class ListFilterForm(forms.Form):
    view = forms.ChoiceField(
        choices=[("open", _("Open")), ("past", _("Past")), ("all", _("All"))], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status"))]
        + [
            (s.value, s.label)
            for s in NoticeStatus
            if s not in {NoticeStatus.DRAFT, NoticeStatus.QUEUED, NoticeStatus.FAILED}
        ],
    )
    notice_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Any type")), *NoticeType.choices]
    )
    q = forms.CharField(
        label=_("Reference"), required=False, max_length=Notice._meta.get_field("reference").max_length
    )


class UrlChoiceMixin:
    """A form whose `urls` field offers the notice's URLs by id (labels are defanged)."""

    def __init__(self, *args, url_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["urls"].choices = list(url_choices)


class MessageForm(forms.Form):
    message = forms.CharField(label=_("Message"), widget=TEXTAREA, max_length=10_000)


class RefuseForm(forms.Form):
    message = forms.CharField(label=_("Reason for refusing"), widget=TEXTAREA, max_length=10_000)


class NotOurCustomerForm(forms.Form):
    suggested_provider = forms.CharField(
        label=_("Who hosts it, if you know (optional)"), required=False, max_length=200
    )
    message = forms.CharField(
        label=_("Details (optional)"), widget=TEXTAREA, required=False, max_length=10_000
    )


def _choices(mapping: dict) -> list[tuple[str, str]]:
    return list(mapping.items())


class RemovedForm(UrlChoiceMixin, forms.Form):
    """ "Removed" with the statement of reasons (DSA Transparency Database vocabulary), prefilled for CSAM."""

    urls = forms.MultipleChoiceField(
        label=_("Removed URLs"), widget=forms.CheckboxSelectMultiple, required=False
    )
    include_statement = forms.BooleanField(
        label=_("Include a statement of reasons (recommended)"), required=False, initial=True
    )
    decision_visibility = forms.MultipleChoiceField(
        label=_("What you did with the content"),
        choices=_choices(sor.DECISION_VISIBILITY),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    decision_visibility_other = forms.CharField(
        label=_("Other restriction"), required=False, max_length=_text_limit("decision_visibility_other")
    )
    decision_account = forms.ChoiceField(
        label=_("The customer's account"),
        required=False,
        choices=[("", _("No action on the account")), *_choices(sor.DECISION_ACCOUNT)],
    )
    decision_provision = forms.ChoiceField(
        label=_("The customer's service"),
        required=False,
        choices=[("", _("No action on the service")), *_choices(sor.DECISION_PROVISION)],
    )
    decision_ground = forms.ChoiceField(
        label=_("Ground"), choices=_choices(sor.DECISION_GROUND), widget=forms.RadioSelect
    )
    illegal_content_legal_ground = forms.CharField(
        label=_("Legal ground"), required=False, max_length=_text_limit("illegal_content_legal_ground")
    )
    illegal_content_explanation = forms.CharField(
        label=_("Why the content is illegal"),
        required=False,
        widget=TEXTAREA,
        max_length=_text_limit("illegal_content_explanation"),
    )
    incompatible_content_ground = forms.CharField(
        label=_("Clause of your terms"), required=False, max_length=_text_limit("incompatible_content_ground")
    )
    incompatible_content_explanation = forms.CharField(
        label=_("Why it breaks your terms"),
        required=False,
        widget=TEXTAREA,
        max_length=_text_limit("incompatible_content_explanation"),
    )
    category = forms.ChoiceField(label=_("Category"), choices=_choices(sor.CATEGORY))
    category_specification = forms.MultipleChoiceField(
        label=_("Keywords"),
        choices=_choices(sor.MINORS_KEYWORDS),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    content_type = forms.MultipleChoiceField(
        label=_("Type of content"),
        choices=_choices(sor.CONTENT_TYPE),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    territorial_scope = forms.MultipleChoiceField(
        label=_("Where the restriction applies"),
        required=False,
        choices=[(c, c) for c in sorted(sor.EUROPEAN_COUNTRY_CODES)],
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    content_date = IsoDateField(label=_("Date the content was uploaded"))
    application_date = IsoDateField(label=_("Date of your decision"))
    decision_facts = forms.CharField(
        label=_("Facts and circumstances"), widget=TEXTAREA, max_length=_text_limit("decision_facts")
    )
    source_type = forms.ChoiceField(label=_("How you learned of it"), choices=_choices(sor.SOURCE_TYPE))
    automated_detection = forms.ChoiceField(
        label=_("Detected by automated means?"), choices=_choices(sor.YES_NO), widget=forms.RadioSelect
    )
    automated_decision = forms.ChoiceField(
        label=_("Decision automated?"), choices=_choices(sor.AUTOMATED_DECISION)
    )

    STATEMENT_FIELDS = (
        "decision_visibility",
        "decision_visibility_other",
        "decision_account",
        "decision_provision",
        "decision_ground",
        "illegal_content_legal_ground",
        "illegal_content_explanation",
        "incompatible_content_ground",
        "incompatible_content_explanation",
        "category",
        "category_specification",
        "content_type",
        "territorial_scope",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.STATEMENT_FIELDS:  # the service says what is missing, in the database's own rules
            self.fields[name].required = False

    def statement(self) -> dict:
        """The cleaned fields as a statement (dates ISO, empty values left out); the service validates it.
        Empty when the provider chose not to include one (a removal without a statement is still a
        removal)."""
        if not self.cleaned_data.get("include_statement"):
            return {}
        data = {}
        for name in self.STATEMENT_FIELDS:
            value = self.cleaned_data.get(name)
            if isinstance(value, date):
                value = value.isoformat()
            if value not in (None, "", []):
                data[name] = value
        if settings.HOTLINE_NAME:
            data["source_identity"] = settings.HOTLINE_NAME
        return data


class InviteForm(forms.Form):
    email = model_field(Invitation, "email", label=_("E-mail address"))
    is_admin = forms.BooleanField(
        label=_("May invite colleagues and manage API keys and the webhook"), required=False
    )


class AcceptInvitationForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=get_user_model()._meta.get_field("username").max_length,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Letters, digits and @ . + - _ only.")},
    )
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        elif data.get("password1"):
            try:
                password_validation.validate_password(data["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ApiKeyForm(forms.Form):
    name = model_field(ApiKey, "name", label=_("Name (e.g. the ticket system using it)"), required=True)


class WebhookForm(forms.Form):
    url = model_field(WebhookEndpoint, "url", label=_("Webhook URL"), assume_scheme="https")
