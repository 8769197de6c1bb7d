"""`make run`: one supervisor process that owns the whole local stack.

It starts (or points at) PostgreSQL and the broker, the SMTP sink and the demo internet (DNS + web hosts) in
this process, runs migrations, loads demo data on first start, then starts web, one Celery worker and Celery
beat as child processes. Ctrl-C or SIGTERM stops every process it started; a second start reuses `var/`.

It owns SIGINT and SIGTERM from its first line, whatever it inherited (a background job of a non-interactive
shell starts with SIGINT ignored), so its children start with the default disposition again. It watches every
process it started or depends on — web, worker, beat, the embedded PostgreSQL's postmaster and the broker —
and when one of them dies (a kill -9 of the Celery worker's main process, of the postmaster …) it says so
and restarts it after a backoff (SUPERVISOR_RESTART_BACKOFF × 2ⁿ, at most 30 s), with whatever that process
had started itself stopped first; the others reconnect by themselves. A process that dies
SUPERVISOR_RESTART_LIMIT times within SUPERVISOR_RESTART_WINDOW seconds is not restarted again: the
supervisor says so loudly and stops everything (exit status 1). A stop (signal, too many deaths or a failed
start) always ends every server it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from notices.demo.network import DNS_ZONE, LIVE_HOSTS, USERS
from notices.demo.web import DemoWeb
from tracker.embedded.signals import StopSignals
from tracker.env import BASE_DIR, VAR_DIR
from tracker.processes import stop_groups

DEMO_DEFAULTS = {
    # Small delays so the whole loop (notice → removed → confirmed) is visible within minutes.
    "REMOVAL_CONFIRMATIONS": "2",
    "REMOVAL_MIN_SPACING": "10",
    "CHECK_INTERVAL_FIRST_DAY": "30",
    "CHECK_SWEEP_INTERVAL": "5",
    "OUTBOX_SWEEP_INTERVAL": "5",
}


STOP_GRACE_SECONDS = 15
WATCH_INTERVAL = 0.5
RESTART_LIMIT = int(os.environ.get("SUPERVISOR_RESTART_LIMIT", "5"))  # deaths of one process within…
RESTART_WINDOW = float(os.environ.get("SUPERVISOR_RESTART_WINDOW", "60"))  # …this many seconds: stop all
RESTART_BACKOFF = float(os.environ.get("SUPERVISOR_RESTART_BACKOFF", "1"))  # first wait; doubles each time
RESTART_MAX_DELAY = 30.0


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop starting things, stop everything."""


@dataclass
class Stack:
    env: dict[str, str]
    signals: StopSignals | None = None
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    # name → () -> None while it runs, else a sentence saying how it ended; every process we depend on.
    watched: dict[str, Callable[[], str | None]] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)  # name → pid, for supervisor.json
    stoppers: list = field(default_factory=list)
    log_dir: Path = VAR_DIR / "log"
    # name → how to start that process again (children, the embedded PostgreSQL and broker)
    restarters: dict[str, Callable[[], None]] = field(default_factory=dict)
    deaths: dict[str, list[float]] = field(default_factory=dict)  # name → when it died lately (monotonic)
    restart_due: dict[str, float] = field(default_factory=dict)  # name → when to start it again

    def check_stop(self) -> None:
        """Raise Interrupted if a stop signal has arrived (called between and inside the start-up steps)."""
        if self.signals is not None and self.signals.received:
            raise Interrupted


def _say(text: str) -> None:
    print(text, flush=True)


def _shout(text: str) -> None:
    """A failure the person running `make run` must not miss, set apart from the rest of the output."""
    _say(f"\n!!! {text}\n")


def _popen_state(proc: subprocess.Popen, what: str) -> Callable[[], str | None]:
    def state() -> str | None:
        code = proc.poll()
        if code is None:
            return None
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"{what} (pid {proc.pid}) {how}"

    return state


def _postmaster_state(pid: int, pgdata: Path) -> Callable[[], str | None]:
    """The embedded postmaster is not our child (pg_ctl daemonizes it): watch its pid (a zombie counts as
    gone)."""
    import psutil  # noqa: PLC0415 (the `embedded` extra: only `make run` needs it)

    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        process = None

    def state() -> str | None:
        try:
            if process is not None and process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            pass
        return f"the embedded PostgreSQL server (postmaster pid {pid}) is gone; see {pgdata / 'log'}"

    return state


def start_database(stack: Stack) -> None:
    if stack.env.get("DATABASE_URL"):
        _say("• PostgreSQL: DATABASE_URL")
        return
    from tracker.embedded import postgres  # noqa: PLC0415 (the `embedded` extra: only `make run` needs it)

    pgdata = VAR_DIR / "pg"
    server, url = postgres.start(pgdata)
    stack.env["DATABASE_URL"] = url
    stack.stoppers.append(server.cleanup)

    def watch_postmaster() -> None:
        pid = server.get_pid()
        stack.watched["postgres"] = _postmaster_state(pid, pgdata)
        stack.services["postgres"] = pid

    def restart() -> None:
        postgres.restart(server)
        watch_postmaster()
        write_state(stack)

    watch_postmaster()
    stack.restarters["postgres"] = restart
    _say(f"• PostgreSQL: embedded, data in {pgdata}")


def start_broker(stack: Stack) -> None:
    if stack.env.get("CELERY_BROKER_URL"):
        _say("• Broker: CELERY_BROKER_URL")
        return
    from tracker.embedded import redis  # noqa: PLC0415 (the `embedded` extra: only `make run` needs it)

    current: list[subprocess.Popen] = []

    def start() -> None:
        proc, url = redis.start(VAR_DIR)
        current[:] = [proc]
        stack.env["CELERY_BROKER_URL"] = url
        what = f"the embedded Redis broker (see {VAR_DIR / 'redis.log'})"
        stack.watched["broker"] = _popen_state(proc, what)
        stack.services["broker"] = proc.pid

    def restart() -> None:
        redis.stop(current[0])  # reaps the dead one
        start()
        write_state(stack)

    start()
    stack.stoppers.append(lambda: redis.stop(current[0]))
    stack.restarters["broker"] = restart
    _say(f"• Broker: embedded Redis on {VAR_DIR / 'redis.sock'}")


def start_mail_sink(stack: Stack) -> None:
    if stack.env.get("EMAIL_URL") or stack.env.get("EMAIL_HOST"):
        _say("• Mail: EMAIL_URL / EMAIL_HOST")
        return
    # Imported here, not at the top: the `embedded` extra; only `make run` needs it.
    from tracker.embedded.smtp import SmtpSink  # noqa: PLC0415

    sink = SmtpSink(VAR_DIR / "mail", port=int(stack.env.get("SMTP_SINK_PORT", "8025")))
    port = sink.start()
    stack.env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))
    stack.stoppers.append(sink.stop)
    _say(f"• Mail: SMTP sink on 127.0.0.1:{port}, every mail as .eml in {VAR_DIR / 'mail'}")


def start_demo_internet(stack: Stack) -> None:
    """The demo's DNS server and web hosts; the checker reaches them through CHECKER_CONNECT_TO (demo
    only)."""
    from notices.demo.dns import DemoDnsServer  # noqa: PLC0415 (dnslib: the `embedded` extra)

    dns = DemoDnsServer(DNS_ZONE, port=int(stack.env.get("DEMO_DNS_PORT", "8053")))
    dns.start()
    stack.stoppers.append(dns.stop)
    web = DemoWeb(
        port=int(stack.env.get("DEMO_WEB_PORT", "18080")),
        control_port=int(stack.env.get("DEMO_WEB_CONTROL_PORT", "18081")),
        state_file=VAR_DIR / "demo-web-pages.json",
    )
    web.live_hosts.update(LIVE_HOSTS)
    port, control = web.start()
    stack.stoppers.append(web.stop)
    target = f"127.0.0.1:{port}"
    stack.env.setdefault("DNS_RESOLVER", dns.address)
    stack.env.setdefault(
        "CHECKER_CONNECT_TO",
        f"198.51.100.0/24={target},203.0.113.0/24={target},192.0.2.0/24={target},[2001:db8::]/32={target}",
    )
    stack.env.setdefault("DEMO_WEB_CONTROL_URL", f"http://127.0.0.1:{control}")
    for key, value in DEMO_DEFAULTS.items():
        stack.env.setdefault(key, value)
    _say(f"• Demo internet: DNS on {dns.address}, web hosts on {target} (control {control})")


def manage(stack: Stack, *args: str, capture: bool = False) -> str:
    """Run a management command to its end, unless a stop signal or a dead service ends it first."""
    argv = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    with subprocess.Popen(
        argv, env=stack.env, cwd=BASE_DIR, text=True, stdout=subprocess.PIPE if capture else None
    ) as proc:
        while True:
            try:
                output, _ = proc.communicate(timeout=WATCH_INTERVAL)
                break
            except subprocess.TimeoutExpired:
                if (stack.signals is not None and stack.signals.received) or dead_service(stack):
                    proc.terminate()
                    proc.wait()
                    stack.check_stop()
                    raise ServiceDied(dead_service(stack) or "") from None
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, output)
    return (output or "").strip()


class ServiceDied(Exception):
    """A process the stack depends on died."""


def dead_service(stack: Stack) -> str | None:
    """How the first watched process that is no longer running ended, or None while all of them run."""
    for state in stack.watched.values():
        ended = state()
        if ended is not None:
            return ended
    return None


def spawn(stack: Stack, name: str, argv: list[str]) -> None:
    """Start a child in its own process group (so stopping it stops its own children), logging to var/log."""
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    log = open(stack.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
    proc = subprocess.Popen(
        argv, env=stack.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    stack.children[name] = proc
    stack.watched[name] = _popen_state(proc, f"{name} (see {stack.log_dir / (name + '.log')})")
    stack.restarters[name] = lambda: respawn(stack, name, argv)


def respawn(stack: Stack, name: str, argv: list[str]) -> None:
    """Start a dead child again, once whatever it had started (its process group: a prefork worker's pool,
    gunicorn's workers) is gone too."""
    stop_groups([stack.children[name]], grace=STOP_GRACE_SECONDS)
    spawn(stack, name, argv)
    write_state(stack)


def web_command(python: str, port: str | int) -> list[str]:
    """The web process: gunicorn with its access log on stdout, every line of it redacted
    (tracker/gunicorn_logging.py)."""
    return [
        python,
        "-m",
        "gunicorn",
        "tracker.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--logger-class",
        "tracker.gunicorn_logging.RedactingLogger",
    ]


def start_processes(stack: Stack) -> None:
    port = stack.env.get("PORT", "8000")
    python = sys.executable
    spawn(stack, "web", web_command(python, port))
    spawn(
        stack,
        "worker",
        [
            python,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            "worker@%h",
        ],
    )
    spawn(
        stack,
        "beat",
        [
            python,
            "-m",
            "celery",
            "-A",
            "tracker",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(VAR_DIR / "celerybeat-schedule"),
        ],
    )
    write_state(stack)


def write_state(stack: Stack) -> None:
    """var/supervisor.json: the supervisor's pid and those of everything it runs now."""
    (VAR_DIR / "supervisor.json").write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "children": {n: p.pid for n, p in stack.children.items()},
                "services": stack.services,
            }
        )
    )


def wait_for_web(stack: Stack, timeout: float = 60) -> None:
    """The banner only appears once the web process answers /healthz."""
    url = f"http://127.0.0.1:{stack.env.get('PORT', '8000')}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_stop()
        if dead_service(stack):
            return  # watch() reports it
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    _say(f"! the web process did not answer {url} within {timeout:.0f} s; see {stack.log_dir / 'web.log'}")


def banner(stack: Stack, partner_key: str) -> None:

    base = f"http://127.0.0.1:{stack.env.get('PORT', '8000')}"
    _say(f"""
Takedown notice tracker is running.

  Front page   {base}/
  Staff        {base}/admin/     analyst / {USERS["analyst"]}    supervisor / {USERS["supervisor"]}
                                 auditor / {USERS["auditor"]}
               first sign-in: set up a second factor with an authenticator app, or without one
               .venv/bin/python -c "import pyotp; print(pyotp.TOTP('KEY').now())"  (KEY as shown)
  Portal       {base}/portal/    polder / {USERS["polder"]}    balkan / {USERS["balkan"]}
  API docs     {base}/api/docs/
  Partner key  {partner_key}

  Report a URL:
    curl -s -X POST {base}/api/v1/reports/ -H 'Authorization: Bearer {partner_key}' \\
         -H 'Content-Type: application/json' \\
         -d '{{"url": "http://files.polder-hosting.example/new/123.html"}}'

  Mail sent to providers: {VAR_DIR / "mail"}/*.eml    Logs: {stack.log_dir}/
  Press Ctrl-C to stop everything.
""")


def stop(stack: Stack) -> None:
    """Stop children (their whole process groups, also when the group's leader already died), then the
    embedded services. Further signals only note themselves (the handlers stay installed), so clean-up always
    finishes."""
    stop_groups(stack.children.values(), grace=STOP_GRACE_SECONDS)
    for stopper in reversed(stack.stoppers):
        try:
            stopper()
        except Exception as exc:  # keep stopping the rest
            _say(f"! while stopping: {exc}")
    (VAR_DIR / "supervisor.json").unlink(missing_ok=True)


def watch(stack: Stack) -> int:
    """Wait until Ctrl-C / SIGTERM (0); restart what dies, with backoff; 1 (the caller stops everything)
    when a process died RESTART_LIMIT times within RESTART_WINDOW seconds or cannot be restarted."""
    assert stack.signals is not None
    while not stack.signals.wait(WATCH_INTERVAL):
        now = time.monotonic()
        for name, state in list(stack.watched.items()):
            ended = None if name in stack.restart_due else state()
            if ended is not None and not schedule_restart(stack, name, ended, now):
                return 1
        for name, due in list(stack.restart_due.items()):
            if now >= due:
                del stack.restart_due[name]
                restart(stack, name)
    raise Interrupted


def schedule_restart(stack: Stack, name: str, ended: str, now: float) -> bool:
    """Note a death and plan the restart after the backoff; False (said loudly) when it died too often."""
    deaths = [at for at in stack.deaths.get(name, []) if now - at < RESTART_WINDOW] + [now]
    stack.deaths[name] = deaths
    if name not in stack.restarters or len(deaths) > RESTART_LIMIT:
        _shout(
            f"{ended}. It died {len(deaths)} times within {RESTART_WINDOW:.0f} s; not restarting it again. "
            "Stopping everything."
        )
        return False
    delay = min(RESTART_BACKOFF * 2 ** (len(deaths) - 1), RESTART_MAX_DELAY)
    _shout(f"{ended}. Restarting {name} in {delay:g} s (death {len(deaths)} of {RESTART_LIMIT} allowed).")
    stack.restart_due[name] = now + delay
    return True


def restart(stack: Stack, name: str) -> None:
    """Start `name` again; a failed start shows as a death at the next look (and counts)."""
    try:
        stack.restarters[name]()
    except Exception as exc:
        _say(f"! restarting {name} failed: {exc}")
        return
    _say(f"• Restarted {name}.")


def main() -> int:
    # First of all: own SIGINT/SIGTERM (also when inherited as ignored); children then start with the default.
    signals = StopSignals()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    runtime = VAR_DIR / "run"  # embedded PostgreSQL keeps its lock file here
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    stack = Stack(
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tracker.settings", "PYTHONUNBUFFERED": "1"},
        signals=signals,
    )
    code = 0
    try:
        for start in (start_database, start_broker, start_mail_sink, start_demo_internet):
            stack.check_stop()
            start(stack)
        manage(stack, "migrate", "--no-input", "-v", "0")
        manage(stack, "load_demo")
        key = manage(
            stack, "create_api_key", "--partner", "Demo Partner Hotline", "--name", "make run", capture=True
        )
        stack.check_stop()
        start_processes(stack)
        wait_for_web(stack)
        ended = dead_service(stack)
        if ended is not None:
            raise ServiceDied(ended)
        banner(stack, key)
        code = watch(stack)
    except Interrupted:
        _say("\nStopping…")
    except ServiceDied as exc:
        _shout(f"{exc}. Stopping everything.")
        code = 1
    except RuntimeError as exc:  # an embedded service did not start
        _say(f"! {exc}")
        code = 1
    except subprocess.CalledProcessError as exc:
        _say(f"! {' '.join(map(str, exc.cmd[1:3]))} failed with exit code {exc.returncode}")
        code = 1
    except OSError as exc:
        _say(
            f"! {exc}\n  Is another `make run` still running? Ports come from PORT, SMTP_SINK_PORT, "
            "DEMO_DNS_PORT, DEMO_WEB_PORT and DEMO_WEB_CONTROL_PORT."
        )
        code = 1
    finally:
        stop(stack)
    _say("Stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
