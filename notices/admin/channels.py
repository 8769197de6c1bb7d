"""The provider page's delivery channel: the channel's settings, checked by the channel itself, and its API
credentials — write-only (a password field that never shows what is stored), encrypted before they are
saved (`notices.infra.credentials`)."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from notices.delivery.channels import CHANNELS
from notices.infra.credentials import CredentialsError, decrypt_credentials, encrypt_credentials
from notices.models import HostingProvider

# Every credential some channel takes, as (field name on the form, credential name).
CREDENTIAL_FIELDS = {
    f"credential_{name}": (name, label)
    for channel in CHANNELS.values()
    for name, label, _required in channel.credential_fields
}


class HostingProviderForm(forms.ModelForm):
    """The provider with its channel: on save, credentials typed in replace the stored ones (fields left
    empty keep them); "clear" forgets them. Errors name the field they are about."""

    clear_credentials = forms.BooleanField(
        required=False, help_text="Forget the stored API credentials of this provider."
    )

    class Meta:
        model = HostingProvider
        fields = "__all__"  # noqa: DJ007 - the admin page's form: every editable field of the provider

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field_name, (_name, label) in CREDENTIAL_FIELDS.items():
            self.fields[field_name] = forms.CharField(
                label=label,
                required=False,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text="Write-only: leave empty to keep what is stored; never shown again.",
            )
        self.new_credentials: dict[str, str] | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        channel = CHANNELS.get(cleaned.get("channel", ""))
        typed = {name: cleaned.get(field) for field, (name, _label) in CREDENTIAL_FIELDS.items()}
        typed = {name: value for name, value in typed.items() if value}
        if channel is None:
            if typed:
                self.add_error(None, "This channel takes no API credentials.")
            self.new_credentials = {} if cleaned.get("clear_credentials") else None
            return cleaned
        try:
            stored = {} if cleaned.get("clear_credentials") else self._stored()
            if typed:
                encrypt_credentials(typed)  # fails here, not on save, when no key is configured
        except CredentialsError as exc:
            self.add_error(None, str(exc))
            return cleaned
        allowed = {name for name, _label, _required in channel.credential_fields}
        merged = {**{k: v for k, v in stored.items() if k in allowed}, **typed}
        config = cleaned.get("channel_config") or {}
        if not isinstance(config, dict):
            self.add_error("channel_config", "The channel's settings are a JSON object.")
            return cleaned
        for name, messages in channel.validate(config, merged).items():
            field = f"credential_{name}" if name in allowed else "channel_config"
            for message in messages:
                self.add_error(field, message if field != "channel_config" else f"{name}: {message}")
        if typed or cleaned.get("clear_credentials"):
            self.new_credentials = merged
        return cleaned

    def _stored(self) -> dict[str, str]:
        return decrypt_credentials(self.instance.channel_credentials) if self.instance.pk else {}

    def apply_credentials(self, provider: HostingProvider) -> None:
        """Put the new credentials (encrypted) on `provider` before it is saved."""
        if self.new_credentials is None:
            return
        if self.new_credentials:
            provider.channel_credentials = encrypt_credentials(self.new_credentials)
            provider.channel_credentials_set_at = timezone.now()
        else:
            provider.channel_credentials, provider.channel_credentials_set_at = "", None
