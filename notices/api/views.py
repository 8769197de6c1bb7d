"""REST views. Each one validates, calls one service or selector, and shapes the answer."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api import serializers as s
from notices.api.auth import IsPartnerOrStaff, IsStaff
from notices.api.errors import PayloadTooLarge
from notices.api.parsers import CsvParser, CsvRow, ReportJsonParser
from notices.infra import enqueue
from notices.models import HostingProvider, Notice, Url
from notices.selectors.stats import time_to_removal
from notices.services.assessment import assess_url
from notices.services.intake import ReportInput, submit_reports
from notices.services.notices import create_notices, queue_notice


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _intake_owner(request: Request) -> dict:
    principal = request.user
    return {"partner": principal.partner, "user": principal.user}


def _report_input(data: dict) -> ReportInput:
    return ReportInput(
        url=data["url"],
        reported_at=data.get("reported_at"),
        external_ref=data.get("external_ref", ""),
        notes=data.get("notes", ""),
        hashes=tuple(dict(h) for h in data.get("hashes", [])),
    )


def _content_length(request: Request) -> int:
    """The declared body size; a malformed header counts as none (as Django itself reads it)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _result(r) -> dict:
    return {
        "id": r.report_id,
        "receipt": r.receipt,
        "duplicate": r.duplicate,
        "url": {"id": r.url_id, "canonical": r.canonical, "status": r.status},
    }


class ReportCreateView(APIView):
    permission_classes = [IsPartnerOrStaff]
    parser_classes = [ReportJsonParser]

    @extend_schema(request=s.ReportCreateSerializer, responses={201: s.ReportResultSerializer})
    def post(self, request: Request) -> Response:
        serializer = s.ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        (result,) = submit_reports(
            items=[_report_input(serializer.validated_data)], now=timezone.now(), **_intake_owner(request)
        )
        return Response(_result(result), status=status.HTTP_201_CREATED)


class ReportBulkView(APIView):
    """JSON array or CSV (header row: url, reported_at, external_ref, notes). Valid items are recorded; each
    invalid one gets its field errors in the result at its index (a CSV row's result also has its `line`)."""

    permission_classes = [IsPartnerOrStaff]
    parser_classes = [ReportJsonParser, CsvParser]

    @extend_schema(request=s.ReportCreateSerializer(many=True), responses={200: s.BulkResultSerializer})
    def post(self, request: Request) -> Response:
        max_items, max_bytes = s.bulk_limits()
        if _content_length(request) > max_bytes:
            raise PayloadTooLarge(f"Body larger than {max_bytes} bytes; split the batch.")
        rows = request.data
        if not isinstance(rows, list):
            return Response(
                {"detail": "Expected a JSON array of reports."}, status=status.HTTP_400_BAD_REQUEST
            )
        if len(rows) > max_items:
            raise PayloadTooLarge(f"At most {max_items} reports per request; got {len(rows)}.")
        valid, results = [], [None] * len(rows)
        for index, row in enumerate(rows):
            where = {"index": index, "line": row.line} if isinstance(row, CsvRow) else {"index": index}
            if isinstance(row, CsvRow) and row.errors:
                results[index] = {**where, "errors": row.errors}
                continue
            serializer = s.ReportCreateSerializer(data=row)
            if serializer.is_valid():
                valid.append((where, _report_input(serializer.validated_data)))
            else:
                results[index] = {**where, "errors": serializer.errors}
        done = (
            submit_reports(items=[i for _, i in valid], now=timezone.now(), **_intake_owner(request))
            if valid
            else []
        )
        for (where, _), result in zip(valid, done, strict=True):
            results[where["index"]] = {**where, **_result(result)}
        body = {"accepted": len(valid), "rejected": len(rows) - len(valid), "results": results}
        return Response(body, status=status.HTTP_200_OK)


class UrlListView(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.UrlSerializer

    @extend_schema(parameters=[s.UrlListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Url]:
        q = _query(s.UrlListQuerySerializer, self.request)
        qs = Url.objects.select_related("provider", "current_trace")
        if "status" in q:
            qs = qs.filter(status=q["status"])
        if "provider" in q:
            qs = qs.filter(provider__slug=q["provider"])
        if "country" in q:
            qs = qs.filter(current_trace__country=q["country"].upper())
        if "since" in q:
            qs = qs.filter(first_reported_at__gte=q["since"])
        if "until" in q:
            qs = qs.filter(first_reported_at__lt=q["until"])
        return qs


class UrlDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.UrlDetailSerializer
    queryset = Url.objects.select_related("provider", "current_trace__provider", "current_assessment")


class UrlAssessView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=s.AssessmentSerializer, responses={201: s.AssessmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        serializer = s.AssessmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = assess_url(
            url=url, analyst=request.user.user, now=timezone.now(), **serializer.validated_data
        )
        return Response(s.AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class UrlTraceView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request, pk: int) -> Response:

        url = get_object_or_404(Url, pk=pk)
        enqueue.send(enqueue.TRACE_URL, url.pk)
        return Response({"detail": "Trace queued.", "url": url.pk}, status=status.HTTP_202_ACCEPTED)


class NoticeListCreateView(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.NoticeSerializer

    @extend_schema(parameters=[s.NoticeListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Notice]:
        q = _query(s.NoticeListQuerySerializer, self.request)
        qs = Notice.objects.select_related("provider").prefetch_related(
            "items__url", "responses__urls", "step_runs__cases"
        )
        if "status" in q:
            qs = qs.filter(status=q["status"])
        if "provider" in q:
            qs = qs.filter(provider__slug=q["provider"])
        if "since" in q:
            qs = qs.filter(created_at__gte=q["since"])
        if "until" in q:
            qs = qs.filter(created_at__lt=q["until"])
        return qs

    @extend_schema(request=s.NoticeCreateSerializer, responses={201: s.NoticeSerializer(many=True)})
    def post(self, request: Request) -> Response:
        serializer = s.NoticeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        urls = list(Url.objects.filter(pk__in=data["urls"]))
        missing = sorted(set(data["urls"]) - {u.pk for u in urls})
        if missing:
            return Response({"urls": [f"URL {pk} does not exist." for pk in missing]}, status=400)
        now = timezone.now()
        with transaction.atomic():  # with "send", a notice that cannot be queued is not created either
            notices = self._create(request, urls, data, now)
        return Response(s.NoticeSerializer(notices, many=True).data, status=status.HTTP_201_CREATED)

    def _create(self, request: Request, urls: list[Url], data: dict, now) -> list[Notice]:
        notices = create_notices(
            urls=urls,
            notice_type=data["notice_type"],
            now=now,
            created_by=request.user.user,
            deadline_at=data.get("deadline_at"),
        )
        if data["send"]:
            notices = [queue_notice(notice=n, now=now, actor=f"key:{request.auth.prefix}") for n in notices]
        return notices


class NoticeDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.NoticeSerializer
    lookup_field = "reference"
    queryset = Notice.objects.select_related("provider")


class NoticeSendView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={202: s.NoticeSerializer})
    def post(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(Notice, reference=reference)
        notice = queue_notice(notice=notice, now=timezone.now(), actor=f"key:{request.auth.prefix}")
        return Response(s.NoticeSerializer(notice).data, status=status.HTTP_202_ACCEPTED)


class ProviderListView(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = s.ProviderSerializer
    queryset = HostingProvider.objects.all()


class TtrStatsView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(parameters=[s.StatsQuerySerializer], responses={200: None})
    def get(self, request: Request) -> Response:
        q = _query(s.StatsQuerySerializer, request)
        result = time_to_removal(now=timezone.now(), **q)
        return Response({"group_by": q["group_by"], "unit": "seconds", **result})
