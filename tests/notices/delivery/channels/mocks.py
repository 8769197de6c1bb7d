"""Local stand-ins for the providers' abuse APIs, written from their public documentation and client
libraries: small threaded HTTP servers on loopback that check what the real API checks (auth header, request
shape, limits) and answer as it answers, including errors and rate limits (429 with Retry-After).

- `CloudflareMock`: `POST /client/v4/accounts/{account}/abuse-reports/abuse_children`, `Authorization:
  Bearer TOKEN`; the child-abuse report's required fields, ≤ 250 unique URLs all on one hostname, the
  notification flags' allowed values, field lengths; Cloudflare's `{"success", "errors", …}` envelope.
- `AwsMock`: `POST /v1/abuse` and `GET /v1/abuse/{reportId}` signed with SigV4 (verified here with an
  implementation of its own), X-ARF v4 content/csam reports, client tokens (the same token and body → the
  same report id; another body → 409 ConflictException), `x-amzn-ErrorType` errors, status progression.

`script` holds answers to give instead of the normal one, in order: `("status", headers)` answers without
doing anything, `("lost", status)` files the report and then answers `status` (the answer is lost on the
way back, as when a connection drops), `("hang", seconds)` files it and answers only after `seconds` (a
worker killed meanwhile never hears of it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit


class MockServer:
    """A threaded HTTP server on 127.0.0.1 whose `handle(method, path, headers, body)` gives
    (status, headers, JSON body); every request is kept in `requests`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple] = []
        self.delay_next = 0.0
        self.lock = threading.Lock()
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with mock.lock:
                    mock.requests.append(
                        {"method": self.command, "path": self.path, "headers": headers, "body": body}
                    )
                    status, answer_headers, answer = mock.answer(self.command, self.path, headers, body)
                    delay, mock.delay_next = mock.delay_next, 0.0
                time.sleep(delay)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **answer_headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> MockServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, method, path, headers, body):
        if self.script and method == "POST":
            step = self.script.pop(0)
            if step[0] == "hang":
                self.delay_next = step[1]
                return self.handle(method, path, headers, body)
            if step[0] != "lost":
                status, extra = step
                return status, extra, self.scripted_body(status)
            status, _extra, answer = self.handle(method, path, headers, body)
            if status >= 300:
                return status, {}, answer
            return step[1], {}, self.scripted_body(step[1])
        return self.handle(method, path, headers, body)

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]


# --- Cloudflare ---------------------------------------------------------------------------------------------

CF_REQUIRED = (
    "act",
    "email",
    "email2",
    "name",
    "urls",
    "justification",
    "host_notification",
    "ncmec_notification",
    "owner_notification",
)
CF_LIMITS = {
    "name": 255,
    "email": 255,
    "justification": 5000,
    "comments": 2000,
    "company": 100,
    "title": 255,
    "tele": 20,
    "country": 255,
}
CF_FLAGS = {
    "host_notification": {"send", "send-anon"},
    "ncmec_notification": {"send", "send-anon"},
    "owner_notification": {"send", "send-anon", "none"},
}


def cf_errors(*messages: str, code: int = 10000) -> dict:
    return {
        "success": False,
        "errors": [{"code": code, "message": m} for m in messages],
        "messages": [],
        "result": None,
    }


class CloudflareMock(MockServer):
    def __init__(self, *, account_id: str, token: str) -> None:
        super().__init__()
        self.account_id, self.token = account_id, token
        self.reports: dict[str, dict] = {}

    @property
    def api_base(self) -> str:
        return f"{self.base}/client/v4"

    def scripted_body(self, status: int) -> dict:
        if status == 429:
            return cf_errors("Rate limited: too many requests", code=971)
        return cf_errors("Internal server error", code=1000)

    def handle(self, method, path, headers, body):
        match = re.fullmatch(r"/client/v4/accounts/([^/]+)/abuse-reports/([a-z_]+)", urlsplit(path).path)
        if method != "POST" or match is None:
            return 404, {}, cf_errors("No route for that URI", code=7000)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, cf_errors("Authentication error", code=10000)
        if match.group(1) != self.account_id:
            return 403, {}, cf_errors("Not entitled: this account cannot submit abuse reports", code=10403)
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, {}, cf_errors("Content-Type must be application/json", code=10400)
        try:
            report = json.loads(body)
        except ValueError:
            return 400, {}, cf_errors("Malformed JSON", code=10400)
        problems = self.problems(match.group(2), report)
        if problems:
            return 400, {}, cf_errors(*problems, code=10400)
        rand = secrets.token_hex(8)
        self.reports[rand] = report
        return (
            200,
            {},
            {
                "success": True,
                "errors": [],
                "messages": [],
                "result": "success",
                "abuse_rand": rand,
                "request": {"act": report["act"]},
            },
        )

    def problems(self, report_type: str, report: dict) -> list[str]:
        if not isinstance(report, dict):
            return ["The body must be a JSON object"]
        problems = [f"{name} is required" for name in CF_REQUIRED if not report.get(name)]
        if report.get("act") != report_type or report_type != "abuse_children":
            problems.append("act must be abuse_children and match the report type in the path")
        if report.get("email") != report.get("email2"):
            problems.append("email2 must match email")
        problems += [
            f"{name} exceeds {limit} characters"
            for name, limit in CF_LIMITS.items()
            if len(str(report.get(name, ""))) > limit
        ]
        problems += [
            f"{name} must be one of {sorted(allowed)}"
            for name, allowed in CF_FLAGS.items()
            if name in report and report[name] not in allowed
        ]
        urls = str(report.get("urls", "")).split("\n")
        hosts = {urlsplit(u).hostname for u in urls}
        if len(urls) > 250:
            problems.append("urls: at most 250 URLs per report")
        if len(set(urls)) != len(urls):
            problems.append("urls: each URL must be unique")
        if len(hosts) != 1:
            problems.append("urls: all URLs must have the same hostname")
        if any(urlsplit(u).scheme not in {"http", "https"} or not urlsplit(u).hostname for u in urls):
            problems.append("urls: each must be a valid URL")
        return problems


# --- AWS Abuse Signal ---------------------------------------------------------------------------------------

XARF_REQUIRED = (
    "xarf_version",
    "report_id",
    "timestamp",
    "reporter",
    "sender",
    "source_identifier",
    "category",
    "type",
    "url",
)


def aws_error(kind: str, message: str, fields: list[tuple[str, str]] = ()) -> tuple[dict, dict]:
    body = {"message": message}
    if fields:
        body["fieldList"] = [{"path": p, "message": m} for p, m in fields]
    return {"x-amzn-ErrorType": kind}, body


class AwsMock(MockServer):
    """`statuses`: the statuses a report goes through on successive GETs, the last one held;
    `on_completed(report_id)` runs when a report is first answered COMPLETED."""

    def __init__(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        region: str = "eu-west-2",
        statuses: list[tuple[str, str]] = (("QUEUED", ""), ("PROCESSING", ""), ("COMPLETED", "ACTIONED")),
        on_completed: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.access_key_id, self.secret, self.region = access_key_id, secret_access_key, region
        self.statuses, self.on_completed = list(statuses), on_completed
        self.reports: dict[str, dict] = {}  # reportId → {"token", "report", "polls"}
        self.tokens: dict[str, str] = {}

    def scripted_body(self, status: int) -> dict:
        return {"message": "Rate exceeded" if status == 429 else "Internal server error"}

    def answer(self, method, path, headers, body):
        if self.script and method == "POST" and self.script[0][0] not in {"lost", "hang"}:
            status, extra = self.script.pop(0)
            kind = "ThrottlingException" if status == 429 else "InternalServerException"
            return status, {"x-amzn-ErrorType": kind, **extra}, self.scripted_body(status)
        return super().answer(method, path, headers, body)

    def handle(self, method, path, headers, body):
        refusal = self.check_signature(method, path, headers, body)
        if refusal is not None:
            return 403, *aws_error("AccessDeniedException", refusal)
        route = urlsplit(path).path
        if method == "POST" and route == "/v1/abuse":
            return self.create(headers, body)
        match = re.fullmatch(r"/v1/abuse/([^/]+)", route)
        if method == "GET" and match:
            return self.status(match.group(1))
        return 404, *aws_error("UnknownOperationException", "Unknown operation")

    def create(self, headers, body):
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, *aws_error("ValidationException", "Content-Type must be application/json")
        try:
            request = json.loads(body)
        except ValueError:
            return 400, *aws_error("ValidationException", "Malformed JSON")
        fields = self.problems(request)
        if fields:
            return 400, *aws_error("ValidationException", "1 validation error detected", fields)
        token = request.get("clientToken") or secrets.token_hex(8)
        if token in self.tokens:
            existing = self.tokens[token]
            if self.reports[existing]["report"] != request["report"]:
                return 409, *aws_error("ConflictException", "clientToken was used with another report")
            return (
                202,
                {},
                {"reportId": existing, "correlationId": request.get("correlationId"), "status": "QUEUED"},
            )
        report_id = secrets.token_hex(16)
        self.tokens[token] = report_id
        self.reports[report_id] = {"token": token, "report": request["report"], "polls": 0}
        return (
            202,
            {},
            {"reportId": report_id, "correlationId": request.get("correlationId"), "status": "QUEUED"},
        )

    def problems(self, request: dict) -> list[tuple[str, str]]:
        fields = []
        token, correlation = request.get("clientToken"), request.get("correlationId")
        if token is not None and not re.fullmatch(r"[\x21-\x7E]{1,128}", str(token)):
            fields.append(("/clientToken", "Must match [\\x21-\\x7E]{1,128}"))
        if correlation is not None and not re.fullmatch(r"[a-zA-Z0-9-_]{1,256}", str(correlation)):
            fields.append(("/correlationId", "Must match [a-zA-Z0-9-_]{1,256}"))
        report = request.get("report")
        if not isinstance(report, dict):
            return [*fields, ("/report", "Required: an X-ARF report object")]
        fields += [(f"/report/{name}", "Required") for name in XARF_REQUIRED if not report.get(name)]
        if not str(report.get("xarf_version", "")).startswith("4."):
            fields.append(("/report/xarf_version", "Only X-ARF v4 reports are accepted"))
        if not isinstance(report.get("reporter"), dict) or not report["reporter"].get("contact"):
            fields.append(("/report/reporter/contact", "Required"))
        if urlsplit(str(report.get("url", ""))).scheme not in {"http", "https"}:
            fields.append(("/report/url", "Must be an absolute http(s) URL"))
        return fields

    def status(self, report_id: str):
        report = self.reports.get(report_id)
        if report is None:
            return 404, *aws_error("ResourceNotFoundException", f"No report {report_id}")
        status, reason = self.statuses[min(report["polls"], len(self.statuses) - 1)]
        report["polls"] += 1
        if status == "COMPLETED" and not report.get("completed"):
            report["completed"] = True
            if self.on_completed is not None:
                self.on_completed(report_id)
        body = {
            "reportId": report_id,
            "status": status,
            "description": f"Report is {status.lower()}",
            "submittedAt": 1,
            "lastUpdatedAt": 2,
        }
        if reason:
            body["reasonCode"] = reason
        return 200, {}, body

    def check_signature(self, method, path, headers, body) -> str | None:
        """Verify SigV4 as AWS does (an implementation of its own, not the tracker's): None when it holds."""
        auth = headers.get("authorization", "")
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            auth,
        )
        if match is None:
            return "Missing or malformed Authorization header"
        key_id, day, region, service, signed, signature = match.groups()
        if key_id != self.access_key_id:
            return "The security token included in the request is invalid"
        if (region, service) != (self.region, "abuse"):
            return (
                f"Credential should be scoped to a valid region and service 'abuse', not {region}/{service}"
            )
        stamp = headers.get("x-amz-date", "")
        try:
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "X-Amz-Date is missing or malformed"
        if abs(datetime.now(UTC) - when) > timedelta(minutes=15) or stamp[:8] != day:
            return "Signature expired"
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return "SignedHeaders must include host and x-amz-date"
        parts = urlsplit(path)
        query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True))
        )
        header_lines = "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names)
        canonical = "\n".join(
            [method, parts.path or "/", query, header_lines, signed, hashlib.sha256(body).hexdigest()]
        )
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = f"AWS4{self.secret}".encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "The request signature we calculated does not match the signature you provided"
        return None
