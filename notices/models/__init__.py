from notices.models.accounts import ApiKey, AuditEvent, Event, RecoveryCode
from notices.models.assessment import Assessment
from notices.models.channels import ChannelReport
from notices.models.checks import Check, DueCheck, RemovalCycle
from notices.models.escalation import (
    AnalystAlert,
    BlocklistEntry,
    ClockStop,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    OrderPause,
    Referral,
    RemovalOrder,
    StepRun,
)
from notices.models.exchange import NetworkLink
from notices.models.hosting import (
    EU_COUNTRIES,
    HostingOverride,
    HostingProvider,
    HostingTrace,
    ProviderContact,
    ProviderMembership,
    RoutingPrefix,
)
from notices.models.inbound import InboundMessage
from notices.models.intake import (
    IdempotentRequest,
    ImportRun,
    MediaHash,
    Partner,
    PartnerWebhookDelivery,
    Report,
    Url,
)
from notices.models.limits import RateCounter
from notices.models.notice import Notice, NoticeItem, OutgoingMessage, ProviderResponse
from notices.models.portal import (
    AnalystReply,
    Invitation,
    LoginAttempt,
    PortalAccount,
    ProviderQuestion,
    WebhookDelivery,
    WebhookEndpoint,
)
from notices.models.registry import (
    AutNum,
    CountryBlock,
    Inetnum,
    Organisation,
    RegistryImport,
    Role,
    RoutedPrefix,
    RouteObject,
)
from notices.models.retention import RetentionPolicy
from notices.models.stats import StatsChange, StatsChangedCase, StatsRefresh, StatsSnapshot
from notices.models.templates import NoticeTemplate

__all__ = [
    "EU_COUNTRIES",
    "AnalystAlert",
    "AnalystReply",
    "ApiKey",
    "Assessment",
    "AuditEvent",
    "AutNum",
    "BlocklistEntry",
    "ChannelReport",
    "Check",
    "ClockStop",
    "CountryBlock",
    "DueCheck",
    "Escalation",
    "EscalationPolicy",
    "EscalationStep",
    "Event",
    "HostingOverride",
    "HostingProvider",
    "HostingTrace",
    "IdempotentRequest",
    "ImportRun",
    "InboundMessage",
    "Inetnum",
    "Invitation",
    "LoginAttempt",
    "MediaHash",
    "NetworkLink",
    "Notice",
    "NoticeItem",
    "NoticeTemplate",
    "OrderPause",
    "Organisation",
    "OutgoingMessage",
    "Partner",
    "PartnerWebhookDelivery",
    "PortalAccount",
    "ProviderContact",
    "ProviderMembership",
    "ProviderQuestion",
    "ProviderResponse",
    "RateCounter",
    "RecoveryCode",
    "Referral",
    "RegistryImport",
    "RemovalCycle",
    "RemovalOrder",
    "Report",
    "RetentionPolicy",
    "Role",
    "RouteObject",
    "RoutedPrefix",
    "RoutingPrefix",
    "StatsChange",
    "StatsChangedCase",
    "StatsRefresh",
    "StatsSnapshot",
    "StepRun",
    "Url",
    "WebhookDelivery",
    "WebhookEndpoint",
]
