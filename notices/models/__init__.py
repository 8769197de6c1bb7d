from notices.models.accounts import ApiKey, AuditEvent, Event
from notices.models.assessment import Assessment
from notices.models.checks import Check
from notices.models.hosting import (
    EU_COUNTRIES,
    HostingProvider,
    HostingTrace,
    ProviderContact,
    ProviderMembership,
    RoutingPrefix,
)
from notices.models.intake import Partner, Report, Url
from notices.models.notice import Escalation, Notice, NoticeItem, OutgoingMessage, ProviderResponse

__all__ = [
    "EU_COUNTRIES",
    "ApiKey",
    "Assessment",
    "AuditEvent",
    "Check",
    "Escalation",
    "Event",
    "HostingProvider",
    "HostingTrace",
    "Notice",
    "NoticeItem",
    "OutgoingMessage",
    "Partner",
    "ProviderContact",
    "ProviderMembership",
    "ProviderResponse",
    "Report",
    "RoutingPrefix",
    "Url",
]
