"""`POST /api/v1/inbound/mail/`: an MTA pipes replies, auto-replies and bounces to notice mails in, one raw
message per request, into the same `ingest_message` that `manage.py ingest_mail` uses."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api.auth import CanAdd, IsInboundMail
from notices.api.errors import PayloadTooLarge
from notices.delivery.inbound import mail_problem
from notices.models import InboundMessage
from notices.services.inbound import ingest_message

MEDIA_TYPE = "message/rfc822"


class RawMailParser(BaseParser):
    """The body as bytes, read up to INBOUND_MAIL_MAX_BYTES (413 beyond, also without a Content-Length)."""

    media_type = MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.INBOUND_MAIL_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise _too_large(limit)
        return raw


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Message larger than INBOUND_MAIL_MAX_BYTES ({limit} bytes).")


InboundResult = inline_serializer(
    "InboundMailResult",
    {
        "id": serializers.IntegerField(),
        "message_id": serializers.CharField(),
        "kind": serializers.ChoiceField(choices=InboundMessage.Kind.choices),
        "notice": serializers.CharField(allow_null=True, help_text="The matched notice's reference."),
        "provider_ticket": serializers.CharField(),
        "bounced_recipients": serializers.ListField(child=serializers.CharField()),
        "duplicate": serializers.BooleanField(
            help_text="Ingested before (same Message-ID): nothing changed."
        ),
    },
)


class InboundMailView(APIView):
    """Take in one received mail (`Content-Type: message/rfc822`, the raw RFC 5322 bytes).

    202 with what it matched: the notice reference (or null) and the kind (reply, auto_reply, bounce,
    unmatched). Same side effects as `ingest_mail`: events, the provider's ticket number, contacts marked
    failing and an analyst alert for a bounce. Idempotent on Message-ID. 422 when the body is not a mail
    message."""

    permission_classes = [IsInboundMail, CanAdd]
    role_model = InboundMessage
    parser_classes = [RawMailParser]

    @extend_schema(
        request={MEDIA_TYPE: OpenApiTypes.BINARY},
        responses={
            202: InboundResult,
            413: OpenApiResponse(description="Larger than INBOUND_MAIL_MAX_BYTES."),
            415: OpenApiResponse(description="Content-Type is not message/rfc822."),
            422: OpenApiResponse(
                description="Not a mail message.",
                examples=[OpenApiExample("garbage", value={"detail": "The message has no From header."})],
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if request.content_type.split(";")[0].strip().lower() != MEDIA_TYPE:
            raise exceptions.UnsupportedMediaType(request.content_type or "none")
        limit = settings.INBOUND_MAIL_MAX_BYTES
        if _content_length(request) > limit:
            raise _too_large(limit)
        raw = request.data if isinstance(request.data, bytes) else b""  # an empty body parses as {}
        problem = mail_problem(raw)
        if problem:
            return Response({"detail": problem}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        now = timezone.now()
        row = ingest_message(raw, now=now)
        return Response(
            {
                "id": row.pk,
                "message_id": row.message_id,
                "kind": row.kind,
                "notice": row.notice.reference if row.notice else None,
                "provider_ticket": row.provider_ticket,
                "bounced_recipients": row.bounced_recipients,
                "duplicate": row.received_at != now,
            },
            status=status.HTTP_202_ACCEPTED,
        )


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
