"""State and vocabulary enums. They are published in the OpenAPI schema; values never change meaning."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UrlStatus(models.TextChoices):
    NEW = "new", "Awaiting assessment"
    ASSESSED = "assessed", "Assessed illegal, awaiting notice"
    NOT_ILLEGAL = "not_illegal", "Assessed not illegal (closed)"
    NOTIFIED = "notified", "Notice sent, awaiting removal"
    REMOVED = "removed", "Removal confirmed"
    GONE_BEFORE_NOTICE = "gone_before_notice", "Gone before any notice"
    CLOSED = "closed", "Closed by an analyst"


# A URL's allowed status moves (see NOTICE_TRANSITIONS below for what the tables mean). An open case (new,
# assessed or noticed) may be closed by an analyst (duplicate, reported in error, out of remit …); a closed
# case reopens to the status it had (`notices.services.urls.reopened_status`). A finished case is not closed:
# not illegal and gone before notice need nothing more, and a removed one keeps its reappearance watch, so
# content that comes back still counts against its provider.
# fmt: off
URL_TRANSITIONS = {
    UrlStatus.NEW: frozenset({UrlStatus.ASSESSED, UrlStatus.NOT_ILLEGAL, UrlStatus.CLOSED}),
    UrlStatus.ASSESSED: frozenset({UrlStatus.ASSESSED, UrlStatus.NOT_ILLEGAL, UrlStatus.NOTIFIED,
                                   UrlStatus.GONE_BEFORE_NOTICE, UrlStatus.CLOSED}),
    UrlStatus.NOT_ILLEGAL: frozenset({UrlStatus.ASSESSED, UrlStatus.NOT_ILLEGAL}),
    UrlStatus.NOTIFIED: frozenset({UrlStatus.NOTIFIED, UrlStatus.REMOVED, UrlStatus.GONE_BEFORE_NOTICE,
                                   UrlStatus.CLOSED}),
    UrlStatus.REMOVED: frozenset({UrlStatus.ASSESSED}),  # the content came back: a new notice cycle
    UrlStatus.GONE_BEFORE_NOTICE: frozenset(),
    # Reopened: back where it was (or where an assessment made while it was closed puts it).
    UrlStatus.CLOSED: frozenset({UrlStatus.NEW, UrlStatus.ASSESSED, UrlStatus.NOT_ILLEGAL,
                                 UrlStatus.NOTIFIED}),
}
# fmt: on


class CloseReason(models.TextChoices):
    """Why an analyst closed a case (`url.closed` event)."""

    DUPLICATE = "duplicate", "Duplicate of another case"
    REPORTED_IN_ERROR = "reported_in_error", "Reported in error"
    OUT_OF_REMIT = "out_of_remit", "Outside the hotline's remit"
    OTHER = "other", "Other (say why in the note)"


class Legality(models.TextChoices):
    ILLEGAL_INTERNATIONAL = "illegal_international", "Illegal internationally (baseline)"
    ILLEGAL_NATIONAL = "illegal_national", "Illegal nationally only"
    NOT_ILLEGAL = "not_illegal", "Not illegal"


class Classification(models.TextChoices):
    """X-ARF v4 `csam` classification."""

    BASELINE = "baseline", "Baseline (illegal everywhere)"
    A1 = "A1", "A1"
    A2 = "A2", "A2"
    B1 = "B1", "B1"
    B2 = "B2", "B2"


class DetectionMethod(models.TextChoices):
    """X-ARF v4 `csam` detection_method."""

    MANUAL_REVIEW = "manual_review", "Manual review by an analyst"
    USER_REPORT = "user_report", "Report from the public"
    HASH_MATCH = "hash_match", "Hash match"
    AI_DETECTION = "ai_detection", "Classifier"
    AUTOMATED_SCAN = "automated_scan", "Automated scan"


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    TEXT = "text", "Text"
    MIXED = "mixed", "Mixed"


# --- The hotline network's shared assessment vocabulary (INHOPE / ICCAM) -----------------------------------
#
# Sources (public descriptions, values only, never imagery): INHOPE's articles "What is ICCAM?" and
# "What is the Universal Classification Schema?" (inhope.org, 2023–2025: ICCAM is the network's secure portal
# to classify and exchange reports; each report is classified "baseline" (INTERPOL's baseline: illegal in
# every member country), "national" (illegal under the assessing hotline's law) or "not illegal"), the
# demographic elements the INHOPE annual reports publish (apparent age band of the youngest victim: infant or
# toddler, pre-pubescent, pubescent; gender: female, male, both), the investigative flags of the Universal
# Classification Schema (virtual/AI-generated, self-/user-generated, child modelling), and the site types,
# commercial flag and payment methods the network's annual statistics break reports down by. The outcome
# reasons are those a hotline gives when a report cannot be actioned (content not found, temporarily
# unavailable, moved). docs/network-vocabulary.md keeps this list with its mapping to our own fields.


class NetworkClassification(models.TextChoices):
    """ICCAM classification, derived from the assessment's legality (one truth, stored by the database)."""

    BASELINE = "baseline", "Baseline (INTERPOL baseline: illegal in every member country)"
    NATIONAL = "national", "National (illegal under the hotline's own law only)"
    NOT_ILLEGAL = "not_illegal", "Not illegal"


class AgeBand(models.TextChoices):
    """Apparent age band of the youngest person depicted."""

    INFANT = "infant", "Infant or toddler (0–2)"
    PREPUBESCENT = "prepubescent", "Pre-pubescent (3–13)"
    PUBESCENT = "pubescent", "Pubescent (14–17)"
    UNKNOWN = "unknown", "Not determined"


class VictimGender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    BOTH = "both", "Both"
    UNKNOWN = "unknown", "Not determined"


class SiteType(models.TextChoices):
    """The kind of service the URL is on (the network's statistics break reports down by it)."""

    WEBSITE = "website", "Website"
    IMAGE_HOST = "image_host", "Image host"
    FILE_HOST = "file_host", "File host / cyberlocker"
    VIDEO_HOST = "video_host", "Video channel or host"
    IMAGE_BOARD = "image_board", "Image board"
    FORUM = "forum", "Forum"
    SOCIAL_NETWORK = "social_network", "Social network"
    BLOG = "blog", "Blog"
    CHAT = "chat", "Chat or messaging service"
    SEARCH = "search", "Search engine"
    REDIRECTOR = "redirector", "Redirector / link shortener"
    BANNER = "banner", "Banner site (advertises other sites)"
    P2P = "p2p", "Peer-to-peer"
    OTHER = "other", "Other"


class PaymentMethod(models.TextChoices):
    """Payment methods seen on a commercial site."""

    CARD = "card", "Payment card"
    CRYPTOCURRENCY = "cryptocurrency", "Cryptocurrency"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    E_WALLET = "e_wallet", "E-wallet / online payment service"
    GIFT_CARD = "gift_card", "Gift card or voucher"
    PREMIUM_SMS = "premium_sms", "Premium SMS / phone billing"
    OTHER = "other", "Other"


class OutcomeReason(models.TextChoices):
    """Why a report could not be assessed or actioned as reported."""

    CONTENT_NOT_FOUND = "content_not_found", "Content not found"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable", "Temporarily unavailable"
    MOVED = "moved", "Content moved to another location"
    DUPLICATE = "duplicate", "Duplicate of another report"
    INSUFFICIENT_INFORMATION = "insufficient_information", "Insufficient information to assess"


class ExchangeAction(models.TextChoices):
    """What the sending hotline did with the case (exchange package `action.code`)."""

    NONE = "none", "No action yet"
    NOTICE_SENT = "notice_sent", "Notice sent to the hosting provider"
    HANDED_OFF = "handed_off", "Handed off to the partner hotline of the hosting country"
    LAW_ENFORCEMENT = "law_enforcement", "Referred to law enforcement"
    REMOVED = "removed", "Removal confirmed"
    CLOSED = "closed", "Closed without removal"


class PartnerRole(models.TextChoices):
    """How another hotline is involved in one of our cases (deconfliction)."""

    HANDED_OFF_TO = "handed_off_to", "We handed the case off to them"
    RECEIVED_FROM = "received_from", "We received the case from them"


class NoticeType(models.TextChoices):
    HOTLINE_NOTICE = "hotline_notice", _("Hotline notice")
    TRUSTED_FLAGGER = "trusted_flagger", _("DSA Art. 16 trusted-flagger notice")
    REMOVAL_ORDER = "removal_order", _("Removal order")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued for delivery")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DISPUTED = "disputed", _("Disputed")
    CLOSED = "closed", _("Closed (all URLs removed)")
    FAILED = "failed", _("Delivery failed")
    WITHDRAWN = "withdrawn", _("Withdrawn by the hotline")


# The transitions each status may take (a status to itself is a re-assessment or a repeated notice). The owner
# of each aggregate — notices.services.urls for a URL, notices.services.notices for a notice — is the only
# writer of the status and checks its moves against these tables; tests/test_state_owners.py fails on a write
# elsewhere. A notice not yet closed may be withdrawn by the hotline; a withdrawn notice stays withdrawn (the
# provider has been shown the withdrawal, and a new notice is the way to ask again).
# fmt: off
NOTICE_TRANSITIONS = {
    NoticeStatus.DRAFT: frozenset({NoticeStatus.QUEUED, NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN}),
    NoticeStatus.QUEUED: frozenset({NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.CLOSED,
                                    NoticeStatus.WITHDRAWN}),
    NoticeStatus.SENT: frozenset({NoticeStatus.ACKNOWLEDGED, NoticeStatus.DISPUTED, NoticeStatus.CLOSED,
                                  NoticeStatus.WITHDRAWN}),
    NoticeStatus.ACKNOWLEDGED: frozenset({NoticeStatus.DISPUTED, NoticeStatus.CLOSED,
                                          NoticeStatus.WITHDRAWN}),
    NoticeStatus.DISPUTED: frozenset({NoticeStatus.DISPUTED, NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN}),
    NoticeStatus.FAILED: frozenset({NoticeStatus.QUEUED, NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN}),
    NoticeStatus.CLOSED: frozenset(),
    NoticeStatus.WITHDRAWN: frozenset(),
}
# fmt: on


class WithdrawReason(models.TextChoices):
    """Why the hotline withdrew a notice (`notice.withdrawn` event); the provider sees the label."""

    SENT_IN_ERROR = "sent_in_error", _("Sent in error")
    WRONG_PROVIDER = "wrong_provider", _("Sent to the wrong provider")
    CASES_CLOSED = "cases_closed", _("The hotline closed the cases it named")
    OTHER = "other", _("Other reason")


# What an analyst may give as the reason (`cases_closed` is the system's, when a notice's last case closes).
WITHDRAW_CHOICES = [(r.value, r.label) for r in WithdrawReason if r != WithdrawReason.CASES_CLOSED]

# Notices a provider never sees (not sent, or never delivered): portal, provider API and webhooks.
HIDDEN_FROM_PROVIDER = frozenset({NoticeStatus.DRAFT, NoticeStatus.QUEUED, NoticeStatus.FAILED})


class ItemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    REPORTED_REMOVED = "reported_removed", _("Provider says removed, verifying")
    REMOVED = "removed", _("Removal confirmed")
    DISPUTED = "disputed", _("Disputed by provider")


class SupersededReason(models.TextChoices):
    """Why a notice no longer asks its provider for a URL although the content is still up: it moved to
    another provider's network (notices/services/hops.py)."""

    HOP = "hop", _("The content now answers from another network")
    MOVED_BEFORE_SEND = "moved_before_send", _("The content had moved to another network before sending")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed permanently"
    CANCELLED = "cancelled", "Cancelled before sending (no longer wanted)"


class ResponseAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    REMOVED = "removed", _("Removed")
    NOT_OUR_CUSTOMER = "not_our_customer", _("Not our customer")
    NEED_INFO = "need_info", _("Need more information")
    REFUSED = "refused", _("Refused")


class CheckOutcome(models.TextChoices):
    LIVE = "live", _("Live")
    GONE = "gone", _("Gone")
    BLOCKED = "blocked", _("Blocked (401/403)")
    UNKNOWN = "unknown", _("Unknown")


class KeyScope(models.TextChoices):
    PARTNER = "partner", "Partner (intake)"
    PROVIDER = "provider", "Hosting provider"
    USER = "user", "Staff user"
    INBOUND = "inbound", "Inbound mail (staff-owned, for an MTA pipe)"
    BLOCKLIST = "blocklist", "Blocking list, SHA-256 of the URLs (partner-owned)"
    BLOCKLIST_URLS = "blockurls", "Blocking list with the plain URLs (partner-owned)"


class ContactChannel(models.TextChoices):
    """How a provider's notices reach it (README "Delivery channels"): e-mail (the default), pickup in the
    portal/API, or a provider's abuse API, each of those through the outbox (`notices.delivery.channels`)."""

    EMAIL = "email", "E-mail to abuse contacts"
    API_ONLY = "api_only", "Portal / API pickup only"
    CLOUDFLARE = "cloudflare", "Cloudflare abuse-reports API (child-abuse reports)"
    AWS_ABUSE = "aws_abuse", "AWS Abuse Signal API (X-ARF reports)"
    WEBHOOK = "webhook", "Signed webhook to the provider's registered endpoint"


# The channels whose notices an abuse API takes through the outbox (`notices.delivery.channels`).
API_CHANNELS = frozenset({ContactChannel.CLOUDFLARE, ContactChannel.AWS_ABUSE, ContactChannel.WEBHOOK})


class ChannelReportStatus(models.TextChoices):
    """One request to a provider's abuse API (a Cloudflare report of one hostname, an AWS report of one
    URL): written before it is sent, then accepted (the provider's id stored) or rejected."""

    PENDING = "pending", "Not accepted yet"
    ACCEPTED = "accepted", "Accepted by the provider"
    REJECTED = "rejected", "Rejected by the provider"


class DispatchMode(models.TextChoices):
    """When assessed URLs of a provider go out as a notice without an analyst creating it."""

    MANUAL = "manual", "Manual (analysts create notices)"
    IMMEDIATE = "immediate", "At the next dispatch sweep"
    INTERVAL = "interval", "Every N minutes (batched)"
    DIGEST = "digest", "Daily digest at a set hour (provider's time zone)"


class SignInOutcome(models.TextChoices):
    """How a sign-in attempt ended (notices/services/signin.py counts them)."""

    PENDING = "pending", "Under way (counts as a failure until it ends or times out)"
    FAILED = "failed", "Wrong password or code"
    PASSED = "passed", "Password right; a second factor follows or this form does not serve the account"
    SUCCEEDED = "succeeded", "Signed in"


# --- Escalation (notices.services.escalation) ---------------------------------------------------------------


class StepAction(models.TextChoices):
    """What one rung of an escalation ladder does."""

    REPEAT_NOTICE = "repeat_notice", "Repeat the notice to the provider"
    ANALYST_ALERT = "analyst_alert", "Alert the analysts"
    UPSTREAM_NOTICE = "upstream_notice", "Notice to the upstream network (transit / parent network)"
    PARTNER_HANDOFF = "partner_handoff", "Hand-off e-mail to the partner hotline of the hosting country"
    REFER_LAW_ENFORCEMENT = "refer_law_enforcement", "Referral record for law enforcement"
    REFER_DSC = "refer_dsc", "Referral record for the provider's Digital Services Coordinator"
    REGISTRAR_NOTICE = "registrar_notice", "Notice to the domain's registrar (found by RDAP)"
    CDN_NOTICE = "cdn_notice", "Notice to the CDN in front of the content, asking for the origin"


class StepAnchor(models.TextChoices):
    """What a rung's delay counts from."""

    NOTICE = "notice", "since the notice was sent"
    PREVIOUS = "previous", "since the previous step was taken"
    DEADLINE = "deadline", "from the notice's deadline (a negative delay: before it)"


class StepRunStatus(models.TextChoices):
    """Where one run of a step stands: the outbox or the webhook delivers a queued one."""

    QUEUED = "queued", "Queued for delivery"
    DONE = "done", "Done (delivered, made available or recorded)"
    SKIPPED = "skipped", "Not applicable to this case"
    RETRYING = "retrying", "Failed, to be retried"
    CANCELLED = "cancelled", "Cancelled (the content was removed first)"


class ReferralAuthority(models.TextChoices):
    LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
    DSC = "dsc", "Digital Services Coordinator"


class AlertKind(models.TextChoices):
    """Why a case needs a human (the analysts' alert queue)."""

    OVERDUE = "overdue", "Still up past the deadline"
    STEP_FAILED = "step_failed", "Escalation step failed"
    DELIVERY_FAILED = "delivery_failed", "Notice could not be delivered"
    FAILING_CONTACT = "failing_contact", "Abuse contact failing (bounce)"
    DISPUTE = "dispute", "Disputed by the provider"
    REAPPEARED = "reappeared", "Content reappeared after removal"
    ORDER_BREACHED = "order_breached", "Removal order's legal deadline breached"
    COUNTRY_CHANGED = "country_changed", "Hosting country changed (same provider)"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged (someone is on it)"
    RESOLVED = "resolved", "Resolved"


class ReportChannel(models.TextChoices):
    """How a report reached the hotline (the analysts' queue can show one channel, e.g. the public form's)."""

    API = "api", "API (single report)"
    BULK = "bulk", "API (bulk)"
    ADMIN = "admin", "Entered by an analyst"
    PUBLIC = "public", "Public report form"


class HashAlgorithm(models.TextChoices):
    """Values a report may carry per media item (never the media). The cryptographic digests are hex and
    compared in lower case; perceptual values are opaque strings compared exactly."""

    MD5 = "md5", "MD5"
    SHA1 = "sha1", "SHA-1"
    SHA256 = "sha256", "SHA-256"
    PHOTODNA = "photodna", "PhotoDNA (perceptual)"
    PDQ = "pdq", "PDQ (perceptual)"


class StopKind(models.TextChoices):
    """Why a case's clock stands still (`ClockStop`)."""

    HOLD = "hold", "Law-enforcement hold (do not notify)"
    NEED_INFO = "need_info", "Paused: the provider needs more information"
    DISPUTE = "dispute", "Paused: the provider disputes (not our customer)"


class LegalBasis(models.TextChoices):
    """Under which law a removal order was issued."""

    TCO = "tco", "TCO Regulation (EU) 2021/784, Art. 3"
    DSA = "dsa", "DSA (EU) 2022/2065, Art. 9"
    NATIONAL = "national", "National law"


class ClockStart(models.TextChoices):
    """What counts as a removal order's receipt: where its legal clock starts."""

    DELIVERY = "delivery", "Delivery (accepted by the mail server, or made available)"
    ACKNOWLEDGEMENT = "acknowledgement", "The provider's acknowledgement"


class OrderPauseReason(models.TextChoices):
    CLARIFICATION = "clarification", "Clarification requested by the addressee"
    FORCE_MAJEURE = "force_majeure", "Force majeure or de facto impossibility"
