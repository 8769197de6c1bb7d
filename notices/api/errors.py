"""One error shape: `{"detail": …}` or field errors `{"field": [messages]}`; nothing a client sends is a
500."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from notices.errors import NoticeError
from notices.services.assessment import AssessmentError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, AssessmentError):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, NoticeError):
        code = status.HTTP_409_CONFLICT if set(exc.errors) == {"detail"} else status.HTTP_400_BAD_REQUEST
        errors = {"detail": exc.errors["detail"][0]} if code == status.HTTP_409_CONFLICT else exc.errors
        return Response(errors, status=code)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    return response
