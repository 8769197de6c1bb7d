"""Forms the analyst admin uses for state changes (each submits to a service function), and the staff
sign-in's forms."""

from django import forms
from django.contrib.auth import get_user_model

from notices.canonical import InvalidUrl, canonicalize, refang
from notices.enums import (
    WITHDRAW_CHOICES,
    AgeBand,
    Classification,
    CloseReason,
    DetectionMethod,
    Legality,
    MediaType,
    OutcomeReason,
    PaymentMethod,
    SiteType,
    VictimGender,
)
from notices.services.lifecycle import NOTE_MAX_LENGTH, reason_problems


class AssessmentForm(forms.Form):
    legality = forms.ChoiceField(choices=Legality.choices, widget=forms.RadioSelect)
    classification = forms.ChoiceField(
        choices=[("", "—"), *Classification.choices],
        required=False,
        help_text="Required when illegal (X-ARF).",
    )
    detection_method = forms.ChoiceField(
        choices=DetectionMethod.choices, initial=DetectionMethod.MANUAL_REVIEW
    )
    media_type = forms.ChoiceField(choices=[("", "—"), *MediaType.choices], required=False)
    severity = forms.IntegerField(min_value=1, max_value=5, required=False)
    legal_basis = forms.CharField(
        required=False, max_length=2000, help_text="Provisions the content infringes."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    # The hotline network's shared vocabulary (ICCAM): values only.
    age_band = forms.ChoiceField(
        choices=[("", "—"), *AgeBand.choices], required=False, help_text="Youngest person depicted."
    )
    victim_gender = forms.ChoiceField(choices=[("", "—"), *VictimGender.choices], required=False)
    virtual_content = forms.BooleanField(required=False, label="Virtual or AI-generated")
    user_generated = forms.BooleanField(required=False, label="Self- / user-generated")
    child_modelling = forms.BooleanField(required=False, label="Child modelling")
    site_type = forms.ChoiceField(choices=[("", "—"), *SiteType.choices], required=False)
    commercial = forms.NullBooleanField(
        required=False,
        widget=forms.Select(choices=[("unknown", "Not determined"), ("true", "Yes"), ("false", "No")]),
    )
    payment_methods = forms.MultipleChoiceField(
        choices=PaymentMethod.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    outcome_reason = forms.ChoiceField(
        choices=[("", "—"), *OutcomeReason.choices],
        required=False,
        help_text="Only when the report could not be actioned as reported.",
    )

    def clean(self):
        data = super().clean()
        if data.get("legality") != Legality.NOT_ILLEGAL and not data.get("classification"):
            self.add_error("classification", "Required when the content is illegal.")
        if data.get("payment_methods") and data.get("commercial") is False:
            self.add_error("payment_methods", "Payment methods are seen only on a commercial site.")
        return data


MAX_ENTERED_LINES = 1000
NOTES_MAX_LENGTH = 4000  # with a line's own note, within a report's 10,000 characters
LINE_NOTE_MAX_LENGTH = 5000


class ReportEntryForm(forms.Form):
    """Reports entered by hand: one URL a line (defanged is fine: it is refanged), optionally followed by
    a space (or tab) and a note for that line; blank lines are skipped. Any line that is not a trackable URL
    is an error naming the line, and then nothing is recorded (the text stays in the form)."""

    urls = forms.CharField(
        label="URLs, one per line",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        max_length=MAX_ENTERED_LINES * 4200,
        help_text="Optionally a note after the URL, after a space. hxxp:// and [.] are understood.",
    )
    notes = forms.CharField(
        label="Notes for every report",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTES_MAX_LENGTH,
    )

    def clean_urls(self) -> list[tuple[str, str]]:
        """[(URL, note of its line)] in order, refanged; ValidationError naming every bad line."""
        entries, problems = [], []
        for number, line in enumerate(self.cleaned_data["urls"].splitlines(), 1):
            if not line.strip():
                continue
            url, *rest = line.split(maxsplit=1)
            url, note = refang(url), "".join(rest).strip()
            if len(note) > LINE_NOTE_MAX_LENGTH:
                problems.append(f"Line {number}: the note is longer than {LINE_NOTE_MAX_LENGTH} characters.")
                continue
            try:
                canonicalize(url)
            except InvalidUrl as exc:
                problems.append(f"Line {number}: {exc}.")
                continue
            entries.append((url, note))
        if len(entries) > MAX_ENTERED_LINES:
            problems.append(f"At most {MAX_ENTERED_LINES} URLs at a time; got {len(entries)}.")
        if not entries and not problems:
            problems.append("Paste at least one URL.")
        if problems:
            raise forms.ValidationError(problems)
        return entries


# --- Staff sign-in (notices/admin/sign_in.py) -------------------------------------------------------------

_USERNAME_MAX = get_user_model()._meta.get_field("username").max_length


def _code_field(label: str, **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false", **attrs}),
    )


def _password_field() -> forms.CharField:
    return forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class StaffLoginForm(forms.Form):
    """The first step: the same fields (and ids) as Django's admin sign-in."""

    username = forms.CharField(
        label="Username",
        max_length=_USERNAME_MAX,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = _password_field()


class StaffCodeForm(forms.Form):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = _code_field("Code", autofocus=True)


class EnrolmentForm(forms.Form):
    code = _code_field("6-digit code from the app", autofocus=True, inputmode="numeric")


class ReauthForm(forms.Form):
    """Password and a code again, before users, groups or API keys change."""

    password = _password_field()
    code = _code_field("Code from your authenticator app, or a recovery code")


class _ReasonForm(forms.Form):
    """A reason (radio buttons) and a note, checked as the lifecycle service checks them."""

    reason_choices: list = []
    reason = forms.ChoiceField(widget=forms.RadioSelect)
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        help_text="Required with “other”. Kept in the timeline.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = self.reason_choices

    def clean(self):
        data = super().clean()
        if "reason" in data and "note" in data:
            for field, problems in reason_problems(data["reason"], data["note"], self.reason_choices).items():
                self.add_error(field, problems)
        return data


class CloseCasesForm(_ReasonForm):
    reason_choices = CloseReason.choices


class WithdrawNoticesForm(_ReasonForm):
    reason_choices = WITHDRAW_CHOICES


class YearForm(forms.Form):
    """The year whose figures the dashboard and the transparency report show (this year and the ten
    before)."""

    year = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, now, **kwargs):
        super().__init__(*args, **kwargs)
        years = range(now.year, now.year - 11, -1)
        self.fields["year"].choices = [(y, str(y)) for y in years]  # unbound: the first, this year


class TransparencyForm(YearForm):
    """The year (none given: this year — a download link without `year=` works) and the format."""

    format = forms.ChoiceField(
        choices=[("html", "Printable page"), ("csv", "CSV"), ("json", "JSON")], required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].required = False
        self.fields["year"].empty_value = None


class TrustedFlaggerForm(TransparencyForm):
    """The year, the format and which notices the Art. 22(3) report counts (trusted-flagger notices, or
    every notice sent)."""

    notice_type = forms.ChoiceField(
        choices=[("trusted_flagger", "Trusted-flagger notices (DSA Art. 16)"), ("all", "Every notice type")],
        required=False,
    )


def case_workers():
    """The staff users who may work cases (change them): those offered as assignees."""
    from django.db.models import Q  # noqa: PLC0415 (the forms module stays light to import)

    may_work = Q(is_superuser=True) | Q(groups__permissions__codename="change_url")
    return (
        get_user_model()
        .objects.filter(may_work, is_staff=True, is_active=True)
        .distinct()
        .order_by("username")
    )


class AssignForm(forms.Form):
    """The bulk "assign" action's step: to whom (nobody: unassign)."""

    analyst = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody (unassign)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["analyst"].queryset = case_workers()


class CaseForm(forms.ModelForm):
    """The case page's form: the assignment, and the revision the page showed (a save over a newer change
    is refused: notices/services/casework.py)."""

    seen_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31 - 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_revision"].initial = self.instance.revision
        if "assigned_to" in self.fields:
            self.fields["assigned_to"].queryset = case_workers()

    def clean(self):
        data = super().clean()
        seen = data.get("seen_revision")
        if seen is not None and seen != self.instance.revision:
            url = self.instance
            who = url.changed_by.get_username() if url.changed_by else "someone"
            when = f"{url.changed_at:%Y-%m-%d %H:%M:%S} UTC" if url.changed_at else "meanwhile"
            raise forms.ValidationError(
                f"{who} changed this case at {when}, after you opened it: your change was not saved. "
                "Reload the case, look at the change, and make yours again.",
                code="stale",
            )
        return data


class HoldForm(forms.Form):
    """A law-enforcement hold on the selected cases: why, who asked, and an optional timeout."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    requester = forms.CharField(max_length=200, help_text="The agency, the officer, their case number.")
    expires_at = forms.DateTimeField(
        required=False, label="Hold until", help_text="Blank: until cleared. E.g. 2026-12-31 18:00 (UTC)."
    )
