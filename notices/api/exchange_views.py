"""Staff API of the hotline network and the DSA Transparency Database: case packages out and in
(notices/schemas/exchange-v1.json), and the providers' statements of reasons in the database's v2 format.

Every export holds exact URLs or provider statements: each call writes an audit row naming what it returned.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api.auth import CanChange, CanView, IsStaff
from notices.api.serializers import StrictQuerySerializer
from notices.infra.events import audit_request
from notices.models import ProviderResponse, Url
from notices.selectors.exchange import case_records, exchange_cases, package
from notices.selectors.notices import statement_responses
from notices.services.exchange import ExchangeError, import_package
from notices.services.sor import tdb_statements

EXPORT_LIMIT_MAX = 10_000


class ExchangeQuerySerializer(StrictQuerySerializer):
    since = serializers.DateTimeField(required=False, help_text="Cases first reported at or after.")
    after = serializers.IntegerField(
        required=False, min_value=0, help_text="Cases with an id above this (the `next` link's cursor)."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=EXPORT_LIMIT_MAX, default=1000)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    linked = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="[{index, reference, errors}]")


class ExchangeCasesView(APIView):
    """GET: our cases as an exchange package (id order, `limit` at a time; a `Link: …; rel="next"` header
    when more follow). POST: import another hotline's package; a record with problems is reported by index
    and reference, the others are imported."""

    permission_classes = [IsStaff, CanChange]
    role_model = Url

    @extend_schema(
        parameters=[ExchangeQuerySerializer], responses={200: OpenApiResponse(description="Package")}
    )
    def get(self, request: Request) -> Response:
        query = ExchangeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        cases = exchange_cases(since=q.get("since"))
        if "after" in q:
            cases = cases.filter(pk__gt=q["after"])
        page = list(cases[: q["limit"] + 1])
        more, page = len(page) > q["limit"], page[: q["limit"]]
        audit_request(
            request, action="exchange.export", object_type="url", data={"urls": [u.pk for u in page]}
        )
        response = Response(package(case_records(page), now=timezone.now()))
        if more:
            params = request.query_params.copy()
            params["after"] = str(page[-1].pk)
            response["Link"] = (
                f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"'
            )
        return response

    @extend_schema(request=None, responses={200: ImportResultSerializer})
    def post(self, request: Request) -> Response:
        try:
            result = import_package(document=request.data, now=timezone.now(), user=request.user.user)
        except ExchangeError as exc:
            return Response(exc.errors, status=400)
        audit_request(
            request,
            action="exchange.import",
            object_type="url",
            data={"created": result.created, "linked": result.linked, "failed": len(result.errors)},
        )
        return Response(result.summary())


class StatementQuerySerializer(StrictQuerySerializer):
    since = serializers.DateTimeField(required=False, help_text="Statements given at or after.")
    until = serializers.DateTimeField(required=False, help_text="Statements given before.")
    provider = serializers.SlugField(required=False, help_text="Only this provider's statements (slug).")


class TdbStatementsView(APIView):
    """The providers' statements of reasons as the DSA Transparency Database (API v2) takes them: the body of
    its multi-statement endpoint, `{"statements": [...]}` (at most 100 per call there: split as needed)."""

    permission_classes = [IsStaff, CanView]
    role_model = ProviderResponse

    @extend_schema(
        parameters=[StatementQuerySerializer], responses={200: OpenApiResponse(description="Statements")}
    )
    def get(self, request: Request) -> Response:
        query = StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        responses = list(statement_responses(**query.validated_data))
        audit_request(
            request,
            action="statements.export",
            object_type="provider_response",
            data={"responses": [r.pk for r in responses]},
        )
        return Response(tdb_statements(responses))
