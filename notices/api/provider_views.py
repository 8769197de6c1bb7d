"""The provider side of the API: a provider key sees only its own notices (one scoped selector)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api import serializers as s
from notices.api.auth import IsProvider
from notices.enums import ResponseAction
from notices.infra.events import actor_label, audit
from notices.models import Notice, ProviderResponse
from notices.selectors.notices import notices_for_provider
from notices.services.responses import record_response
from notices.services.sor import export_statements


def _scoped(request: Request) -> QuerySet[Notice]:
    return notices_for_provider(request.user.provider)


class ProviderNoticeListView(generics.ListAPIView):
    permission_classes = [IsProvider]
    serializer_class = s.NoticeSerializer

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        references = [notice["reference"] for notice in response.data["results"]]
        audit(
            actor=actor_label(api_key=request.auth),
            action="notice.list",
            obj=request.user.provider,
            ip=request.META.get("REMOTE_ADDR"),
            data={"references": references},
        )
        return response

    @extend_schema(parameters=[s.NoticeListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Notice]:
        serializer = s.NoticeListQuerySerializer(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        q = serializer.validated_data
        qs = _scoped(self.request).prefetch_related("items__url", "responses__urls", "step_runs__cases")
        if "status" in q:
            qs = qs.filter(status=q["status"])
        if "since" in q:
            qs = qs.filter(sent_at__gte=q["since"])
        if "until" in q:
            qs = qs.filter(sent_at__lt=q["until"])
        return qs


class ProviderNoticeDetailView(generics.RetrieveAPIView):
    permission_classes = [IsProvider]
    serializer_class = s.NoticeSerializer
    lookup_field = "reference"

    def get_queryset(self) -> QuerySet[Notice]:
        return _scoped(self.request)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        audit(
            actor=actor_label(api_key=request.auth),
            action="notice.view",
            obj=self.get_object(),
            ip=request.META.get("REMOTE_ADDR"),
        )
        return response


class ProviderResponseCreateSerializer(s.ResponseCreateSerializer):
    """The portal's answers, by API. `statement_of_reasons` with `removed` is validated against the DSA
    Transparency Database vocabulary (errors as `{"statement_of_reasons": {field: [messages]}}`)."""

    suggested_provider = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="With not_our_customer: who hosts it, if you know (name, domain or abuse address).",
    )


class ProviderResponseCreateView(APIView):
    permission_classes = [IsProvider]

    @extend_schema(request=ProviderResponseCreateSerializer, responses={201: s.ResponseSerializer})
    def post(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(_scoped(request), reference=reference)
        serializer = ProviderResponseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        response = record_response(
            notice=notice,
            action=data["action"],
            now=timezone.now(),
            url_ids=data.get("urls"),
            message=data["message"],
            statement_of_reasons=data["statement_of_reasons"],
            api_key=request.auth,
            suggested_provider=data["suggested_provider"],
        )
        audit(
            actor=actor_label(api_key=request.auth),
            action=f"notice.respond.{data['action']}",
            obj=notice,
            ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(s.ResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class StatementsSerializer(serializers.Serializer):
    statements = serializers.ListField(child=serializers.DictField(), help_text="DSA statements of reasons.")


class ProviderStatementsView(APIView):
    """The statements of reasons given with removals of one notice, in the DSA Transparency Database's
    multi-statement format (`{"statements": [...]}`), each with a `puid` unique to the response."""

    permission_classes = [IsProvider]

    @extend_schema(responses={200: StatementsSerializer})
    def get(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(_scoped(request), reference=reference)
        responses = ProviderResponse.objects.filter(notice=notice, action=ResponseAction.REMOVED)
        audit(
            actor=actor_label(api_key=request.auth),
            action="notice.export",
            obj=notice,
            ip=request.META.get("REMOTE_ADDR"),
            data={"format": "statements"},
        )
        return Response(export_statements(responses.select_related("notice").order_by("pk")))
