"""The public report form (`/report/`): what a member of the public may send, and the two bot checks.

No third-party CAPTCHA: a honeypot field people never see (a bot filling every input fills it) and a signed
time stamp the page carries, so a form sent within PUBLIC_REPORT_MIN_SECONDS of being shown (or older than
PUBLIC_REPORT_MAX_AGE, or with a stamp that was not ours) is refused. The URL is validated as the API
validates it (`notices.canonical`), defanged input refanged first; its canonical form is kept for intake.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from notices.canonical import MAX_URL_LENGTH, InvalidUrl, canonicalize, refang

STAMP_SALT = "notices.public-report.stamp"
NOTES_MAX_LENGTH = 2000
HONEYPOT = "homepage"

# canonicalize() explains in English for partners; the public reads one of these, in its language.
_SCHEME_PROBLEM = _("Only web addresses that start with http:// or https:// can be reported.")
_HOST_PROBLEM = _("The address needs a host name such as www.example.com, or an IP address.")
_OTHER_PROBLEM = _("This is not a web address that can be reported. Please check it and try again.")


def url_problem(exc: InvalidUrl):
    """The public's message for why `canonicalize` refused a URL."""
    message = exc.message
    if "http and https" in message:
        return _SCHEME_PROBLEM
    if "host" in message or "top-level" in message:
        return _HOST_PROBLEM
    return _OTHER_PROBLEM


def new_stamp(now: float) -> str:
    """The signed time the form was shown at."""
    return signing.dumps(int(now), salt=STAMP_SALT)


def stamp_problem(stamp: str, now: float):
    """Why a form with this stamp is not taken now, or None: too soon after it was shown, too old, or not a
    stamp this site signed."""
    try:
        shown = signing.loads(stamp, salt=STAMP_SALT)
    except signing.BadSignature:
        shown = None
    if not isinstance(shown, int):
        return _("This form could not be sent. Please send it again.")
    if now - shown > settings.PUBLIC_REPORT_MAX_AGE:
        return _("This form was open too long. Please check it and send it again.")
    if now - shown < settings.PUBLIC_REPORT_MIN_SECONDS:
        return _("This form was sent too quickly. Please check it and send it again.")
    return None


class PublicReportForm(forms.Form):
    url = forms.CharField(
        label=_("Web address (URL)"),
        max_length=MAX_URL_LENGTH,
        strip=False,
        help_text=_("Copy it from the address bar. It is not opened from this page and not shown again."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
    )
    notes = forms.CharField(
        label=_("What did you see? (optional)"),
        max_length=NOTES_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Please do not describe the images in detail, and never send images."),
    )
    email = forms.EmailField(
        label=_("Your e-mail address (optional)"),
        required=False,
        help_text=_(
            "Only if we may contact you about this report. It is never passed on to the website or its host, "
            "and it is deleted with the report."
        ),
    )
    # Hidden from people (CSS and aria-hidden); a bot filling every input fills it.
    homepage = forms.CharField(label=_("Leave this field empty"), required=False, strip=False)
    stamp = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, now: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.canonical = None
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        if not self.is_bound:
            self.initial["stamp"] = new_stamp(now)

    def clean_url(self) -> str:
        value = self.cleaned_data["url"]
        if "\x00" in value:
            raise forms.ValidationError(_OTHER_PROBLEM)
        try:
            self.canonical = canonicalize(refang(value))
        except InvalidUrl as exc:
            raise forms.ValidationError(url_problem(exc)) from None
        return value

    def clean_notes(self) -> str:
        value = self.cleaned_data["notes"]
        if "\x00" in value:
            raise forms.ValidationError(_("The text contains a character that cannot be stored."))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.honeypot_filled:
            raise forms.ValidationError(_("This form could not be sent. Please send it again."))
        problem = stamp_problem(self.data.get("stamp", ""), self.now)
        if problem:
            raise forms.ValidationError(problem)
        return cleaned

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def renew_stamp(self) -> None:
        """A refused form is shown again with a fresh stamp (its own is spent or was bad) and the honeypot
        empty (a person's browser may have autofilled it), so that a person can simply send it again."""
        data = self.data.copy()
        data["stamp"] = new_stamp(self.now)
        data[HONEYPOT] = ""
        self.data = data
