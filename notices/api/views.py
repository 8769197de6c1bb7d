"""REST views. Each one validates, calls one service or selector, and shapes the answer.

Staff reads that contain URLs write an audit row (who, when, from where): a detail names its object, a list
names the URL ids (or notice references) of the page it returned — one row per request. Staff writes write one
too. Report intake does not: each report is its own record (the report row, the case's `url.created` event).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api import serializers as s
from notices.api import stats_serializers as stats_s
from notices.api.auth import CanAdd, CanChange, CanView, IsPartnerOrStaff, IsStaff
from notices.api.errors import PayloadTooLarge
from notices.api.parsers import CsvParser, CsvRow, ReportJsonParser
from notices.enums import NoticeType, ReportChannel
from notices.errors import NoticeError
from notices.infra import enqueue
from notices.infra.events import audit_request
from notices.models import HostingProvider, Notice, Report, StatsSnapshot, Url
from notices.selectors.flagger import flagger_csv, trusted_flagger_report
from notices.selectors.receipts import receipt_status, report_by_receipt
from notices.selectors.reports import provider_scorecard, report_csv, transparency_report, yearly_figures
from notices.selectors.stats import time_to_removal
from notices.services import idempotency
from notices.services.assessment import assess_url
from notices.services.imports import read_ahead
from notices.services.intake import same_material_of, submit_reports
from notices.services.lifecycle import close_case, reopen_case, withdraw
from notices.services.notices import create_notices, queue_notice
from notices.services.report_fields import report_input, validate_report


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _intake_owner(request: Request) -> dict:
    principal = request.user
    return {"partner": principal.partner, "user": principal.user}


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
        "same_material_as": list(r.same_material),
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1–200 visible ASCII characters, scoped to your key's owner. A retry with the same key and "
        "the same body gets the first answer again (same receipts, same status, header "
        "`Idempotent-Replayed: true`) and records nothing; the same key with another body is a 409."
    ),
)
_IDEMPOTENCY_CONFLICT = OpenApiResponse(description="The Idempotency-Key was used for a different request.")


def _idempotent(request: Request, work) -> Response:
    """Answer with `work()` (status, body) — once per Idempotency-Key when the request names one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        code, body = work()
        return Response(body, status=code)
    problem = idempotency.key_problem(key)
    if problem:
        raise ParseError(problem)
    principal = request.user
    owner = f"partner:{principal.partner.pk}" if principal.partner else f"user:{principal.user.pk}"
    try:
        code, body, replayed = idempotency.run_once(
            owner=owner,
            key=key,
            path=request.path,
            digest=idempotency.body_digest(request._request.body),
            now=timezone.now(),
            work=work,
        )
    except idempotency.IdempotencyConflict as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    response = Response(body, status=code)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class ReportCreateView(APIView):
    permission_classes = [IsPartnerOrStaff, CanAdd]
    role_model = Report
    parser_classes = [ReportJsonParser]

    @extend_schema(
        request=s.ReportCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: s.ReportResultSerializer,
            400: OpenApiResponse(description="Field errors."),
            409: _IDEMPOTENCY_CONFLICT,
        },
    )
    def post(self, request: Request) -> Response:
        return _idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> tuple[int, dict]:
        serializer = s.ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        (result,) = submit_reports(
            items=[report_input(serializer.validated_data, canonical=serializer.canonical)],
            now=timezone.now(),
            **_intake_owner(request),
        )
        return status.HTTP_201_CREATED, _result(result)


class ReportBulkView(APIView):
    """JSON array or CSV (header row: url, reported_at, external_ref, notes). Valid items are recorded; each
    invalid one gets its field errors in the result at its index (a CSV row's result also has its `line`)."""

    permission_classes = [IsPartnerOrStaff, CanAdd]
    role_model = Report
    parser_classes = [ReportJsonParser, CsvParser]

    @extend_schema(
        request=s.ReportCreateSerializer(many=True),
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: s.BulkResultSerializer,
            400: OpenApiResponse(description="Not a JSON array, or CSV without a usable header."),
            409: _IDEMPOTENCY_CONFLICT,
            413: OpenApiResponse(description="Too many items or bytes: split the batch."),
        },
    )
    def post(self, request: Request) -> Response:
        max_items, max_bytes = s.bulk_limits()
        if _content_length(request) > max_bytes:
            raise PayloadTooLarge(f"Body larger than {max_bytes} bytes; split the batch.")
        return _idempotent(request, lambda: self._create(request, max_items))

    def _create(self, request: Request, max_items: int) -> tuple[int, dict]:
        rows = request.data
        if not isinstance(rows, list):
            raise ParseError("Expected a JSON array of reports.")
        if len(rows) > max_items:
            raise PayloadTooLarge(f"At most {max_items} reports per request; got {len(rows)}.")
        now = timezone.now()
        results: list = [None] * len(rows)
        accepted = 0
        owner = {"channel": ReportChannel.BULK, **_intake_owner(request)}
        chunks = _judged(rows, now, results)
        if len(rows) > BULK_CHUNK:  # judge the next chunk while this one is written (the thread: no database)
            chunks = read_ahead(_in_language(translation.get_language(), chunks), depth=1)
        hashed: list[int] = []  # indexes of the reports that carry hash values
        with transaction.atomic():  # one request, one transaction, however many chunks
            for valid in chunks:
                if not valid:
                    continue
                done = submit_reports(items=[i for _, i in valid], now=now, **owner)
                for (where, item), result in zip(valid, done, strict=True):
                    results[where["index"]] = {**where, **_result(result)}
                    if item.hashes:
                        hashed.append(where["index"])
                accepted += len(valid)
            if len(rows) > BULK_CHUNK and hashed:  # a chunk's reports also match the later chunks' cases
                matches = same_material_of([results[index]["id"] for index in hashed])
                for index in hashed:
                    results[index]["same_material_as"] = list(matches.get(results[index]["id"], ()))
        return status.HTTP_200_OK, {
            "accepted": accepted,
            "rejected": len(rows) - accepted,
            "results": results,
        }


# A bulk request is judged (validated, URLs canonicalised) and written in chunks of this many items, the next
# chunk judged while the last is written.
BULK_CHUNK = 2_500


def _judged(rows: list, now, results: list):
    """Each chunk of `rows` as its valid items [(where, ReportInput)]; an invalid row's errors go to
    `results` at its index."""
    for start in range(0, len(rows), BULK_CHUNK):
        valid = []
        for index in range(start, min(start + BULK_CHUNK, len(rows))):
            row = rows[index]
            where = {"index": index, "line": row.line} if isinstance(row, CsvRow) else {"index": index}
            if isinstance(row, CsvRow) and row.errors:
                results[index] = {**where, "errors": row.errors}
                continue
            item, errors = validate_report(row, now=now)
            if item is not None:
                valid.append((where, item))
            else:
                results[index] = {**where, "errors": errors}
        yield valid


def _in_language(language: str | None, iterable):
    """`iterable`, run in `language` (the request's; a thread of its own starts in the default one)."""
    with translation.override(language):
        yield from iterable


class ReportReceiptView(APIView):
    """What became of a report: its case's status, first notice, removal interval and TTR bounds. A partner
    key sees its own receipts only (another partner's receipt is a 404, as an unknown one is); a staff key
    any (audited: the answer names a URL)."""

    permission_classes = [IsPartnerOrStaff, CanView]
    role_model = Report

    @extend_schema(responses={200: s.ReceiptStatusSerializer, 404: OpenApiResponse(description="Not yours.")})
    def get(self, request: Request, receipt: str) -> Response:
        principal = request.user
        report = report_by_receipt(receipt=receipt, partner=principal.partner, staff=principal.is_staff)
        if report is None:
            raise NotFound("No report with this receipt.")
        if principal.is_staff:
            audit_request(request, action="report.view", obj=report.url, data={"receipt": receipt})
        return Response(s.ReceiptStatusSerializer(receipt_status(report)).data)


class UrlListView(generics.ListAPIView):
    permission_classes = [IsStaff, CanView]
    role_model = Url
    serializer_class = s.UrlSerializer

    @extend_schema(parameters=[s.UrlListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        ids = [url["id"] for url in response.data["results"]]
        audit_request(request, action="url.list", object_type="url", data={"urls": ids})
        return response

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
    permission_classes = [IsStaff, CanView]
    role_model = Url
    serializer_class = s.UrlDetailSerializer
    queryset = Url.objects.select_related("provider", "current_trace__provider", "current_assessment")

    def retrieve(self, request, *args, **kwargs):
        url = self.get_object()
        body = self.get_serializer(url).data
        audit_request(request, action="url.view", obj=url)
        return Response(body)


class UrlAssessView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = Url

    @extend_schema(request=s.AssessmentSerializer, responses={201: s.AssessmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        serializer = s.AssessmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = assess_url(
            url=url, analyst=request.user.user, now=timezone.now(), **serializer.validated_data
        )
        audit_request(request, action="api.assess", obj=url, data={"legality": assessment.legality})
        return Response(s.AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class UrlTraceView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = Url

    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request, pk: int) -> Response:

        url = get_object_or_404(Url, pk=pk)
        if url.purged_at:
            raise NoticeError({"detail": [f"URL {url.pk} was purged (retention): it cannot be traced."]})
        enqueue.send(enqueue.TRACE_URL, url.pk)
        audit_request(request, action="api.trace", obj=url)
        return Response({"detail": "Trace queued.", "url": url.pk}, status=status.HTTP_202_ACCEPTED)


def _conflict(what: str) -> OpenApiResponse:
    return OpenApiResponse(description=f'`{{"detail": …}}`: {what}')


def _with_reason(answer, conflict: str) -> dict:
    """The answers of a state change that takes a reason: the object, field errors, or a conflict."""
    return {
        200: answer,
        400: OpenApiResponse(description='Field errors: `{"reason": […], "note": […]}`.'),
        409: _conflict(conflict),
    }


class UrlCloseView(APIView):
    """Close a case (it is never deleted): no more checks, escalations or notices; out of the TTR statistics;
    its open notice items released (a notice whose cases are all closed is withdrawn)."""

    permission_classes = [IsStaff, CanChange]
    role_model = Url

    @extend_schema(
        request=s.CloseSerializer,
        responses=_with_reason(
            s.UrlSerializer, "the case is not new, assessed or noticed (finished, or closed)."
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        serializer = s.CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = close_case(url=url, now=timezone.now(), api_key=request.auth, **serializer.validated_data)
        return Response(s.UrlSerializer(url).data)


class UrlReopenView(APIView):
    """Reopen a closed case to the status it had (after a mistaken close)."""

    permission_classes = [IsStaff, CanChange]
    role_model = Url

    @extend_schema(request=None, responses={200: s.UrlSerializer, 409: _conflict("the case is not closed.")})
    def post(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        url = reopen_case(url=url, now=timezone.now(), api_key=request.auth)
        return Response(s.UrlSerializer(url).data)


class NoticeListCreateView(generics.ListAPIView):
    permission_classes = [IsStaff, CanAdd]
    role_model = Notice
    serializer_class = s.NoticeSerializer

    @extend_schema(parameters=[s.NoticeListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        references = [notice["reference"] for notice in response.data["results"]]
        audit_request(request, action="notice.list", object_type="notice", data={"references": references})
        return response

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
        references = [notice.reference for notice in notices]
        audit_request(
            request,
            action="api.notice_create",
            object_type="notice",
            data={"references": references, "urls": sorted(data["urls"]), "send": data["send"]},
        )
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
    permission_classes = [IsStaff, CanView]
    role_model = Notice
    serializer_class = s.NoticeSerializer
    lookup_field = "reference"
    queryset = Notice.objects.select_related("provider")

    def retrieve(self, request, *args, **kwargs):
        notice = self.get_object()
        body = self.get_serializer(notice).data
        audit_request(request, action="notice.view", obj=notice)
        return Response(body)


class NoticeSendView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = Notice

    @extend_schema(request=None, responses={202: s.NoticeSerializer})
    def post(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(Notice, reference=reference)
        notice = queue_notice(notice=notice, now=timezone.now(), actor=f"key:{request.auth.prefix}")
        audit_request(request, action="api.notice_send", obj=notice)
        return Response(s.NoticeSerializer(notice).data, status=status.HTTP_202_ACCEPTED)


class NoticeWithdrawView(APIView):
    """Withdraw a notice (it is never deleted): its unsent mails are cancelled, its escalation stops, and the
    provider sees it as withdrawn."""

    permission_classes = [IsStaff, CanChange]
    role_model = Notice

    @extend_schema(
        request=s.WithdrawSerializer,
        responses=_with_reason(s.NoticeSerializer, "the notice is closed or withdrawn already."),
    )
    def post(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(Notice, reference=reference)
        serializer = s.WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        (notice,) = withdraw(
            notices=[notice], now=timezone.now(), api_key=request.auth, **serializer.validated_data
        )
        return Response(s.NoticeSerializer(notice).data)


class ProviderListView(generics.ListAPIView):
    permission_classes = [IsStaff, CanView]
    role_model = HostingProvider
    serializer_class = s.ProviderSerializer
    queryset = HostingProvider.objects.all()


class TtrStatsView(APIView):
    permission_classes = [IsStaff, CanView]
    role_model = StatsSnapshot

    @extend_schema(parameters=[s.StatsQuerySerializer], responses={200: stats_s.TtrStatsSerializer})
    def get(self, request: Request) -> Response:
        q = _query(s.StatsQuerySerializer, request)
        result = time_to_removal(now=timezone.now(), **q)
        return Response({"group_by": q["group_by"], "unit": "seconds", **result})


class YearlyStatsView(APIView):
    """The figures a hotline publishes for a year (notices/selectors/reports.py)."""

    permission_classes = [IsStaff, CanView]
    role_model = StatsSnapshot

    @extend_schema(parameters=[s.YearQuerySerializer], responses={200: stats_s.YearlyStatsSerializer})
    def get(self, request: Request) -> Response:
        q = _query(s.YearQuerySerializer, request)
        return Response({"unit": "seconds", **yearly_figures(year=q["year"], now=timezone.now())})


class TransparencyCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, *_protocol):
        if isinstance(data, dict) and "rows" in data:
            return report_csv(data)
        # An error: its messages, one per line.
        return "".join(f"{field},{messages}\n" for field, messages in (data or {}).items())


class TransparencyView(APIView):
    """The transparency report of a year, JSON or `format=csv`: no URLs, no personal data. Each export
    writes an audit row."""

    permission_classes = [IsStaff, CanView]
    role_model = StatsSnapshot
    renderer_classes = [JSONRenderer, TransparencyCsvRenderer]

    @extend_schema(
        parameters=[s.YearQuerySerializer],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            (400, "application/json"): OpenApiTypes.OBJECT,
            (400, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> Response:
        q = _query(s.YearQuerySerializer, request)
        report = transparency_report(year=q["year"], now=timezone.now())
        fmt = request.accepted_renderer.format
        audit_request(
            request,
            action="stats.transparency_export",
            object_type="stats",
            data={"year": q["year"], "format": fmt},
        )
        response = Response(report)
        if fmt == "csv":
            response["Content-Disposition"] = f'attachment; filename="transparency-{q["year"]}.csv"'
        return response


class TrustedFlaggerCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, *_protocol):
        if isinstance(data, dict) and "rows" in data:
            return flagger_csv(data)
        return "".join(f"{field},{messages}\n" for field, messages in (data or {}).items())


class TrustedFlaggerView(APIView):
    """The DSA Art. 22(3) trusted-flagger report of a year (notices/selectors/flagger.py), JSON or
    `format=csv`: no URLs, no personal data. Each export writes an audit row."""

    permission_classes = [IsStaff, CanView]
    role_model = StatsSnapshot
    renderer_classes = [JSONRenderer, TrustedFlaggerCsvRenderer]

    @extend_schema(
        parameters=[s.TrustedFlaggerQuerySerializer],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            (400, "application/json"): OpenApiTypes.OBJECT,
            (400, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> Response:
        q = _query(s.TrustedFlaggerQuerySerializer, request)
        types = NoticeType.values if q["notice_type"] == "all" else [NoticeType.TRUSTED_FLAGGER]
        report = trusted_flagger_report(year=q["year"], now=timezone.now(), notice_types=types)
        fmt = request.accepted_renderer.format
        audit_request(
            request,
            action="stats.trusted_flagger_export",
            object_type="stats",
            data={"year": q["year"], "format": fmt, "notice_types": report["notice_types"]},
        )
        response = Response(report)
        if fmt == "csv":
            response["Content-Disposition"] = f'attachment; filename="dsa-art22-{q["year"]}.csv"'
        return response


class ProviderScorecardView(APIView):
    """One provider's scorecard (notices/selectors/reports.py); an unknown slug is a 404."""

    permission_classes = [IsStaff, CanView]
    role_model = StatsSnapshot

    @extend_schema(responses={200: stats_s.ScorecardSerializer})
    def get(self, request: Request, slug: str) -> Response:
        _query(s.StrictQuerySerializer, request)
        provider = get_object_or_404(HostingProvider, slug=slug)
        return Response(provider_scorecard(provider=provider, now=timezone.now()))
