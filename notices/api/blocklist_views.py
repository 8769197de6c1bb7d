"""`GET /api/v1/blocklist/`: the blocking list for partners that block while content stays up
(notices/services/blocklist.py). A key of scope `blocklist` reads the SHA-256 of the canonical URLs, one of
scope `blockurls` the plain URLs too (audited: exact URLs leave the hotline). `since` makes an incremental
pull (what was added and removed after it). Pages: `limit` and the opaque `cursor` of the `next` and
`previous` links (keyset pagination, consistent under concurrent changes); each page has its own `ETag`, and
`If-None-Match` answers 304 when that page did not change."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api import serializers as s
from notices.api.auth import IsBlocklistReader
from notices.enums import KeyScope
from notices.infra.events import audit_request
from notices.services.blocklist import pull


class BlocklistView(APIView):
    permission_classes = [IsBlocklistReader]

    @extend_schema(
        parameters=[s.BlocklistQuerySerializer],
        responses={200: s.BlocklistSerializer, 304: OpenApiResponse(description="Not modified (ETag).")},
    )
    def get(self, request: Request) -> Response:
        query = s.BlocklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        plain = request.user.scope == KeyScope.BLOCKLIST_URLS
        data = query.validated_data
        answer = pull(
            now=timezone.now(),
            since=data.get("since"),
            plain=plain,
            limit=data["limit"],
            cursor=data.get("position"),
        )
        etag = answer.pop("etag")
        for link, cursor in (
            ("next", answer.pop("next_cursor")),
            ("previous", answer.pop("previous_cursor")),
        ):
            answer[link] = (
                request.build_absolute_uri(
                    f"{request.path}?{urlencode({'limit': data['limit'], 'cursor': cursor})}"
                )
                if cursor
                else None
            )
        if request.headers.get("If-None-Match") == etag:
            response = Response(status=304)
        else:
            response = Response(s.BlocklistSerializer(answer).data)
            if plain:
                audit_request(
                    request,
                    action="blocklist.urls",
                    object_type="blocklist",
                    data={"count": len(answer["entries"]), "partner": request.user.partner.name},
                )
        response["ETag"] = etag
        return response
