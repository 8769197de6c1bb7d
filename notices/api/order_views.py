"""Staff API for law-enforcement holds and removal orders (notices/services/holds.py, orders.py).

- `GET /api/v1/urls/{id}/holds/`: the case's holds and pauses; `POST` places a hold (reason, requester,
  optional `expires_at`) → 201; a second hold while one is in force is a 400 naming `url`.
- `POST /api/v1/holds/{id}/clear/` clears a hold (409 when it is not in force).
- `GET|POST /api/v1/notices/{reference}/order/`: the removal order a notice carries with its clock, or
  record it → 201; `POST …/order/pause/` (reason: clarification | force_majeure) and `…/order/resume/`.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices.api import serializers as s
from notices.api.auth import CanAdd, CanChange, IsStaff
from notices.enums import StopKind
from notices.infra.events import audit_request
from notices.models import ClockStop, Notice, RemovalOrder, Url
from notices.services.holds import clear_hold, request_hold
from notices.services.orders import create_order, pause_order, resume_order

CONFLICT = OpenApiResponse(description='`{"detail": "…"}`: not in a state that allows this.')


class UrlHoldsView(APIView):
    permission_classes = [IsStaff, CanAdd]
    role_model = ClockStop

    @extend_schema(responses={200: s.ClockStopSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        stops = ClockStop.objects.filter(url=url).select_related("notice").order_by("started_at", "pk")
        return Response(s.ClockStopSerializer(stops, many=True, context={"now": timezone.now()}).data)

    @extend_schema(request=s.HoldCreateSerializer, responses={201: s.ClockStopSerializer, 400: None})
    def post(self, request: Request, pk: int) -> Response:
        url = get_object_or_404(Url, pk=pk)
        serializer = s.HoldCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        hold = request_hold(url=url, now=now, user=request.user.user, **serializer.validated_data)
        audit_request(request, action="api.hold", obj=url, data={"hold": hold.pk})
        return Response(
            s.ClockStopSerializer(hold, context={"now": now}).data, status=status.HTTP_201_CREATED
        )


class HoldClearView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = ClockStop

    @extend_schema(request=s.HoldClearSerializer, responses={200: s.ClockStopSerializer, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        hold = get_object_or_404(ClockStop, pk=pk, kind=StopKind.HOLD)
        serializer = s.HoldClearSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        hold = clear_hold(hold=hold, now=now, user=request.user.user, **serializer.validated_data)
        audit_request(request, action="api.hold_clear", obj=hold)
        return Response(s.ClockStopSerializer(hold, context={"now": now}).data)


class NoticeOrderView(APIView):
    permission_classes = [IsStaff, CanAdd]
    role_model = RemovalOrder

    @extend_schema(responses={200: s.OrderSerializer, 404: None})
    def get(self, request: Request, reference: str) -> Response:
        order = get_object_or_404(RemovalOrder, notice__reference=reference)
        return Response(s.OrderSerializer(order, context={"now": timezone.now()}).data)

    @extend_schema(request=s.OrderCreateSerializer, responses={201: s.OrderSerializer, 400: None})
    def post(self, request: Request, reference: str) -> Response:
        notice = get_object_or_404(Notice, reference=reference)
        serializer = s.OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        seconds = data.pop("time_allowed_seconds", None)
        now = timezone.now()
        order = create_order(
            notice=notice,
            now=now,
            user=request.user.user,
            time_allowed=timedelta(seconds=seconds) if seconds else None,
            **data,
        )
        audit_request(request, action="api.order_create", obj=notice)
        return Response(s.OrderSerializer(order, context={"now": now}).data, status=status.HTTP_201_CREATED)


class NoticeOrderPauseView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = RemovalOrder

    @extend_schema(request=s.OrderPauseSerializer, responses={200: s.OrderSerializer, 409: CONFLICT})
    def post(self, request: Request, reference: str) -> Response:
        order = get_object_or_404(RemovalOrder, notice__reference=reference)
        serializer = s.OrderPauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        pause_order(order=order, now=now, user=request.user.user, **serializer.validated_data)
        order.refresh_from_db()
        return Response(s.OrderSerializer(order, context={"now": now}).data)


class NoticeOrderResumeView(APIView):
    permission_classes = [IsStaff, CanChange]
    role_model = RemovalOrder

    @extend_schema(request=None, responses={200: s.OrderSerializer, 409: CONFLICT})
    def post(self, request: Request, reference: str) -> Response:
        order = get_object_or_404(RemovalOrder, notice__reference=reference)
        now = timezone.now()
        order = resume_order(order=order, now=now, user=request.user.user)
        return Response(s.OrderSerializer(order, context={"now": now}).data)
