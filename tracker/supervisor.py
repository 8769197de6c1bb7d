"""`make run`: one supervisor process that owns the whole local stack.

It starts (or points at) PostgreSQL and the broker, the SMTP sink and the demo internet (DNS + web hosts) in
this process, runs migrations, loads demo data on first start, then starts web, one Celery worker and Celery
beat as child processes. Ctrl-C or SIGTERM stops every process it started; a second start reuses `var/`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tracker.env import BASE_DIR, VAR_DIR

DEMO_DEFAULTS = {
    # Small delays so the whole loop (notice → removed → confirmed) is visible within minutes.
    "REMOVAL_CONFIRMATIONS": "2",
    "REMOVAL_MIN_SPACING": "10",
    "CHECK_INTERVAL_FIRST_DAY": "30",
    "CHECK_SWEEP_INTERVAL": "5",
    "OUTBOX_SWEEP_INTERVAL": "5",
}


@dataclass
class Stack:
    env: dict[str, str]
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    stoppers: list = field(default_factory=list)
    log_dir: Path = VAR_DIR / "log"


def _say(text: str) -> None:
    print(text, flush=True)


def start_database(stack: Stack) -> None:
    if stack.env.get("DATABASE_URL"):
        _say("• PostgreSQL: DATABASE_URL")
        return
    from tracker.embedded import postgres

    server, url = postgres.start(VAR_DIR / "pg")
    stack.env["DATABASE_URL"] = url
    stack.stoppers.append(server.cleanup)
    _say(f"• PostgreSQL: embedded, data in {VAR_DIR / 'pg'}")


def start_broker(stack: Stack) -> None:
    if stack.env.get("CELERY_BROKER_URL"):
        _say("• Broker: CELERY_BROKER_URL")
        return
    from tracker.embedded import redis

    proc, url = redis.start(VAR_DIR)
    stack.env["CELERY_BROKER_URL"] = url
    stack.stoppers.append(lambda: redis.stop(proc))
    _say(f"• Broker: embedded Redis on {VAR_DIR / 'redis.sock'}")


def start_mail_sink(stack: Stack) -> None:
    if stack.env.get("EMAIL_URL") or stack.env.get("EMAIL_HOST"):
        _say("• Mail: EMAIL_URL / EMAIL_HOST")
        return
    from tracker.embedded.smtp import SmtpSink

    sink = SmtpSink(VAR_DIR / "mail", port=int(stack.env.get("SMTP_SINK_PORT", "8025")))
    port = sink.start()
    stack.env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))
    stack.stoppers.append(sink.stop)
    _say(f"• Mail: SMTP sink on 127.0.0.1:{port}, every mail as .eml in {VAR_DIR / 'mail'}")


def start_demo_internet(stack: Stack) -> None:
    """The demo's DNS server and web hosts; the checker reaches them through CHECKER_CONNECT_TO (demo only)."""
    from notices.demo.dns import DemoDnsServer
    from notices.demo.network import DNS_ZONE, LIVE_HOSTS
    from notices.demo.web import DemoWeb

    dns = DemoDnsServer(DNS_ZONE, port=int(stack.env.get("DEMO_DNS_PORT", "8053")))
    dns.start()
    stack.stoppers.append(dns.stop)
    web = DemoWeb(port=int(stack.env.get("DEMO_WEB_PORT", "18080")),
                  control_port=int(stack.env.get("DEMO_WEB_CONTROL_PORT", "18081")))  # fmt: skip
    web.live_hosts.update(LIVE_HOSTS)
    port, control = web.start()
    stack.stoppers.append(web.stop)
    target = f"127.0.0.1:{port}"
    stack.env.setdefault("DNS_RESOLVER", dns.address)
    stack.env.setdefault("CHECKER_CONNECT_TO", f"198.51.100.0/24={target},203.0.113.0/24={target},"
                                               f"192.0.2.0/24={target},[2001:db8::]/32={target}")  # fmt: skip
    stack.env.setdefault("DEMO_WEB_CONTROL_URL", f"http://127.0.0.1:{control}")
    for key, value in DEMO_DEFAULTS.items():
        stack.env.setdefault(key, value)
    _say(f"• Demo internet: DNS on {dns.address}, web hosts on {target} (control {control})")


def manage(stack: Stack, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=stack.env, cwd=BASE_DIR, check=True, text=True,
        stdout=subprocess.PIPE if capture else None,
    )  # fmt: skip
    return (result.stdout or "").strip()


def spawn(stack: Stack, name: str, argv: list[str]) -> None:
    """Start a child in its own process group (so stopping it stops its own children), logging to var/log."""
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    log = open(stack.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
    stack.children[name] = subprocess.Popen(
        argv, env=stack.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()


def start_processes(stack: Stack) -> None:
    port = stack.env.get("PORT", "8000")
    python = sys.executable
    spawn(stack, "web", [python, "-m", "gunicorn", "tracker.wsgi:application", "--bind", f"127.0.0.1:{port}",
                         "--workers", "2", "--threads", "4", "--access-logfile", "-"])  # fmt: skip
    spawn(stack, "worker", [python, "-m", "celery", "-A", "tracker", "worker", "--loglevel", "INFO",
                            "--concurrency", "2", "--hostname", "worker@%h"])  # fmt: skip
    spawn(stack, "beat", [python, "-m", "celery", "-A", "tracker", "beat", "--loglevel", "INFO",
                          "--schedule", str(VAR_DIR / "celerybeat-schedule")])  # fmt: skip
    (VAR_DIR / "supervisor.json").write_text(
        json.dumps({"pid": os.getpid(), "children": {n: p.pid for n, p in stack.children.items()}})
    )


def wait_for_web(stack: Stack, timeout: float = 60) -> None:
    """The banner only appears once the web process answers /healthz."""
    url = f"http://127.0.0.1:{stack.env.get('PORT', '8000')}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.children["web"].poll() is not None:
            return  # watch() reports the exit
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    _say(f"! the web process did not answer {url} within {timeout:.0f} s; see {stack.log_dir / 'web.log'}")


def banner(stack: Stack, partner_key: str) -> None:
    from notices.demo.network import USERS

    base = f"http://127.0.0.1:{stack.env.get('PORT', '8000')}"
    _say(f"""
Takedown notice tracker is running.

  Front page   {base}/
  Analyst      {base}/admin/     analyst / {USERS["analyst"]}    supervisor / {USERS["supervisor"]}
  Portal       {base}/portal/    polder / {USERS["polder"]}    balkan / {USERS["balkan"]}
  API docs     {base}/api/docs/
  Partner key  {partner_key}

  Report a URL:
    curl -s -X POST {base}/api/v1/reports/ -H 'Authorization: Bearer {partner_key}' \\
         -H 'Content-Type: application/json' -d '{{"url": "http://files.polder-hosting.example/new/123.html"}}'

  Mail sent to providers: {VAR_DIR / "mail"}/*.eml    Logs: {stack.log_dir}/
  Press Ctrl-C to stop everything.
""")


def stop(stack: Stack) -> None:
    """Stop children (their whole process groups), then the embedded services. A second Ctrl-C is ignored so
    clean-up always finishes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for proc in stack.children.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in stack.children.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for stopper in reversed(stack.stoppers):
        try:
            stopper()
        except Exception as exc:  # keep stopping the rest
            _say(f"! while stopping: {exc}")
    (VAR_DIR / "supervisor.json").unlink(missing_ok=True)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def watch(stack: Stack) -> int:
    """Wait until Ctrl-C / SIGTERM, or until a child dies (then stop everything and fail)."""
    while True:
        for name, proc in stack.children.items():
            if proc.poll() is not None:
                _say(
                    f"! {name} exited with {proc.returncode}; see {stack.log_dir / (name + '.log')}. Stopping."
                )
                return 1
        time.sleep(0.5)


def main() -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    runtime = VAR_DIR / "run"  # embedded PostgreSQL keeps its lock file here
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    stack = Stack(env={**os.environ, "DJANGO_SETTINGS_MODULE": "tracker.settings", "PYTHONUNBUFFERED": "1"})
    code = 0
    try:
        start_database(stack)
        start_broker(stack)
        start_mail_sink(stack)
        start_demo_internet(stack)
        manage(stack, "migrate", "--no-input", "-v", "0")
        manage(stack, "load_demo")
        key = manage(
            stack, "create_api_key", "--partner", "Demo Partner Hotline", "--name", "make run", capture=True
        )
        start_processes(stack)
        wait_for_web(stack)
        banner(stack, key)
        code = watch(stack)
    except KeyboardInterrupt:
        _say("\nStopping…")
    except subprocess.CalledProcessError as exc:
        _say(f"! {' '.join(map(str, exc.cmd[1:3]))} failed with exit code {exc.returncode}")
        code = 1
    except OSError as exc:
        _say(
            f"! {exc}\n  Is another `make run` still running? Ports come from PORT, SMTP_SINK_PORT, DEMO_DNS_PORT, "
            "DEMO_WEB_PORT and DEMO_WEB_CONTROL_PORT."
        )
        code = 1
    finally:
        stop(stack)
    _say("Stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
