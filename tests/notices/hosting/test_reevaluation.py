"""After a registry import every open case is re-evaluated: the ones the new data moves to another provider,
network or country get a `url.hosting_changed` event and a re-trace queued on the real broker; closed and
unchanged cases get nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from notices.hosting.tracer import trace_url
from notices.models import Event, HostingOverride, HostingProvider, RegistryImport, Url
from notices.services.reevaluation import reevaluate_open_cases

from .conftest import dump, inetnum, organisation
from .test_rdap import ripe_style_network
from .test_trace_registry import LOWLAND

T0 = datetime(2026, 3, 1, tzinfo=UTC)
EURO = [
    inetnum("192.0.2.0 - 192.0.2.255", netname="EURO-NET", country="DE", org="ORG-EW1-TEST"),
    organisation("ORG-EW1-TEST", "Euro Wide GmbH", country="DE"),
]
# The next day's dump: Polder's /26 is re-assigned to a Bulgarian organisation.
MOVED = [
    obj.replace("ORG-PH1-TEST", "ORG-BS1-TEST")
    .replace("Polder Hosting B.V.", "Balkan Servers OOD")
    .replace(
        "country:        NL\norg:            ORG-BS1-TEST", "country:        BG\norg:            ORG-BS1-TEST"
    )
    for obj in LOWLAND
]
IPASN = "198.51.100.0/24\t64500\n192.0.2.0/24\t64510\n"
HOSTS = {"moved": "198.51.100.20", "closed": "198.51.100.30", "unchanged": "192.0.2.10", "new": "192.0.2.20"}


@pytest.fixture
def sent_tasks(broker_url):
    """Reads (and removes) the task messages waiting on the real broker's imports queue, where an import's
    re-traces go (tracker/queues.py): (name, args) each. What earlier tests left there is drained first."""
    from tracker import queues
    from tracker.celery import app

    def drain() -> list[tuple[str, list]]:
        found = []
        with app.connection_for_read() as conn:
            queue = conn.SimpleQueue(queues.IMPORTS)
            try:
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        return found
                    found.append((message.headers["task"], message.payload[0]))
                    message.ack()
            finally:
                queue.close()

    drain()
    return drain


@pytest.fixture
def cases(dns_server, make_url, write_file, import_data, now):
    """Yesterday's data, and a case traced on each address: open ones, a removed one, one never traced."""
    import_data("ripe", write_file("ripe.db", dump(*LOWLAND, *EURO)), as_of=T0)
    import_data("pyasn", write_file("ipasn.dat", IPASN), as_of=T0)
    made = {}
    for name, address in HOSTS.items():
        dns_server.set_record(f"{name}.example", "A", [address])
        made[name] = make_url(f"{name}.example")
        trace_url(url=made[name], now=now)
    statuses = {"moved": "notified", "closed": "removed", "unchanged": "assessed", "new": "new"}
    for name, status in statuses.items():
        Url.objects.filter(pk=made[name].pk).update(status=status)
    made["untraced"] = make_url("untraced.example")
    return made


def move_polder(write_file, import_data, **ipasn) -> None:
    import_data("ripe", write_file("moved.db", dump(*MOVED, *EURO)), as_of=T0 + timedelta(days=1))
    if ipasn:
        import_data("pyasn", write_file("moved.dat", ipasn["text"]), as_of=T0 + timedelta(days=1))


def generations() -> dict[str, int]:
    return dict(RegistryImport.objects.filter(status="active").values_list("dataset", "pk"))


def changes() -> list[tuple[int, dict]]:
    return [(e.url_id, e.data) for e in Event.objects.filter(kind="url.hosting_changed").order_by("pk")]


def test_reevaluation_an_import_moving_a_prefix_records_the_open_case_and_queues_its_retrace(
    cases, write_file, import_data, sent_tasks, django_capture_on_commit_callbacks, now
):
    polder = HostingProvider.objects.get(org_handles__contains=["ORG-PH1-TEST"])
    move_polder(write_file, import_data)

    with django_capture_on_commit_callbacks(execute=True):
        summary = reevaluate_open_cases(now=now + timedelta(hours=1))

    assert changes() == [
        (
            cases["moved"].pk,
            {
                "ip": "198.51.100.20",
                "from": {"provider": polder.pk, "asn": 64500, "country": "NL"},
                "to": {"provider": None, "asn": 64500, "country": "BG"},
                "changed": ["provider", "country"],
                "org_handle": "ORG-BS1-TEST",
                "retrace": True,
                "generations": generations(),
            },
        )
    ]
    assert Event.objects.get(kind="url.hosting_changed").at == now + timedelta(hours=1)
    assert sent_tasks() == [("notices.trace_url", [cases["moved"].pk])]
    assert (summary.examined, summary.changed, dict(summary.by_kind), summary.events, summary.retraces) == (
        3,
        1,
        {"provider": 1, "country": 1},
        1,
        1,
    )


def test_reevaluation_without_a_change_records_and_queues_nothing(
    cases, write_file, import_data, sent_tasks, django_capture_on_commit_callbacks, now
):
    import_data("ripe", write_file("same.db", dump(*LOWLAND, *EURO)), as_of=T0 + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        summary = reevaluate_open_cases(now=now + timedelta(hours=1))

    assert (changes(), callbacks, sent_tasks()) == ([], [], [])
    assert (summary.examined, summary.changed) == (3, 0)


def test_reevaluation_leaves_a_closed_case_alone(
    cases, write_file, import_data, django_capture_on_commit_callbacks, now
):
    Url.objects.filter(pk=cases["moved"].pk).update(status="not_illegal")
    move_polder(write_file, import_data)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        summary = reevaluate_open_cases(now=now + timedelta(hours=1))

    assert (changes(), callbacks, summary.examined) == ([], [], 2)


def test_reevaluation_records_a_change_once_and_queues_its_retrace_again_until_traced(
    cases, dns_server, write_file, import_data, sent_tasks, django_capture_on_commit_callbacks, now
):
    move_polder(write_file, import_data)
    with django_capture_on_commit_callbacks(execute=True):
        reevaluate_open_cases(now=now + timedelta(hours=1))
    sent_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        again = reevaluate_open_cases(now=now + timedelta(hours=2))
    assert (len(changes()), again.changed, again.events, sent_tasks()) == (
        1,
        1,
        0,
        [("notices.trace_url", [cases["moved"].pk])],
    )

    retrace = trace_url(url=cases["moved"], now=now + timedelta(hours=3))  # what the queued task does
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        after = reevaluate_open_cases(now=now + timedelta(hours=4))
    assert (retrace.is_hop, retrace.provider.name, retrace.country) == (True, "Balkan Servers OOD", "BG")
    assert (after.changed, len(changes()), callbacks) == (0, 1, [])


def test_reevaluation_queues_at_most_the_cap_and_the_next_run_queues_the_rest(
    cases, dns_server, write_file, import_data, sent_tasks, django_capture_on_commit_callbacks, settings, now
):
    settings.REEVALUATE_MAX_RETRACES = 1
    Url.objects.filter(pk=cases["closed"].pk).update(status="notified")  # a second case on the moved /26
    move_polder(write_file, import_data)

    with django_capture_on_commit_callbacks(execute=True):
        first = reevaluate_open_cases(now=now + timedelta(hours=1))
    (queued,) = [args[0] for name, args in sent_tasks()]

    moved = {cases["moved"].pk, cases["closed"].pk}
    assert (first.changed, first.events, first.retraces, first.deferred) == (2, 2, 1, 1)
    assert sorted((url_id, data["retrace"]) for url_id, data in changes()) == sorted(
        (pk, pk == queued) for pk in moved
    )
    balkan = trace_url(url=Url.objects.get(pk=queued), now=now + timedelta(hours=2)).provider
    with django_capture_on_commit_callbacks(execute=True):
        second = reevaluate_open_cases(now=now + timedelta(hours=3))
    waiting = (moved - {queued}).pop()
    assert (second.changed, second.retraces, sent_tasks()) == (1, 1, [("notices.trace_url", [waiting])])
    # The re-trace created the new provider, so the data now names it: a new event says so.
    assert [(url_id, data["to"]["provider"]) for url_id, data in changes()[2:]] == [(waiting, balkan.pk)]


def test_reevaluation_keeps_what_a_url_override_sets_and_compares_the_rest(
    cases, dns_server, write_file, import_data, make_provider, django_capture_on_commit_callbacks, now
):
    local = make_provider("local", country="AT", prefix=None)
    HostingOverride.objects.create(scope="url", url=cases["moved"], provider=local, country="AT")
    trace_url(url=cases["moved"], now=now)
    move_polder(write_file, import_data)

    with django_capture_on_commit_callbacks(execute=True):
        unmoved = reevaluate_open_cases(now=now + timedelta(hours=1))
    move_polder(write_file, import_data, text="198.51.100.0/24\t64501\n192.0.2.0/24\t64510\n")
    with django_capture_on_commit_callbacks(execute=True):
        renumbered = reevaluate_open_cases(now=now + timedelta(hours=2))

    assert (unmoved.changed, renumbered.changed) == (0, 1)
    (url_id, data) = changes()[0]
    assert (url_id, data["from"], data["to"], data["changed"]) == (
        cases["moved"].pk,
        {"provider": local.pk, "asn": 64500, "country": "AT"},
        {"provider": local.pk, "asn": 64501, "country": "AT"},
        ["asn"],
    )


def test_reevaluation_compares_only_the_asn_where_the_trace_asked_rdap(
    dns_server, rdap_server, make_url, write_file, import_data, django_capture_on_commit_callbacks, now
):
    """No registry network covers 192.0.2.80: provider and country came from RDAP, which no import changes."""
    import_data("pyasn", write_file("ipasn.dat", "192.0.2.0/24\t64510\n"), as_of=T0)
    rdap_server.set_json("/ip/192.0.2.80", ripe_style_network())
    dns_server.set_record("switch.example", "A", ["192.0.2.80"])
    case = make_url("switch.example")
    trace = trace_url(url=case, now=now)
    import_data("pyasn", write_file("same.dat", "192.0.2.0/24\t64510\n"), as_of=T0 + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        same = reevaluate_open_cases(now=now + timedelta(hours=1))
    import_data("pyasn", write_file("moved.dat", "192.0.2.0/24\t64511\n"), as_of=T0 + timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        moved = reevaluate_open_cases(now=now + timedelta(hours=2))

    assert (trace.provider.name, trace.country, same.changed, moved.changed) == ("Switch Example", "CH", 0, 1)
    assert changes()[0][1]["to"] == {"provider": trace.provider_id, "asn": 64511, "country": "CH"}


def test_import_registry_command_reevaluates_unless_told_not_to(
    cases, write_file, sent_tasks, django_capture_on_commit_callbacks, capsys
):
    later = T0 + timedelta(days=1)
    path = write_file("moved.db", dump(*MOVED, *EURO))
    call_command(
        "import_registry", "ripe", path, "--as-of", later.isoformat(), "--no-progress", "--no-reevaluate"
    )
    assert "Re-evaluated" not in capsys.readouterr().out

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_registry", "ripe", path, "--as-of", later.isoformat(), "--no-progress")

    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("Re-evaluated 3 open cases against pyasn #")
    assert out[-1] == (
        "Hosting changed for 1 (provider 1, asn 0, country 1); 1 new url.hosting_changed events; "
        "1 re-traces queued."
    )
    assert [url_id for url_id, _ in changes()] == [cases["moved"].pk]
    assert sent_tasks() == [("notices.trace_url", [cases["moved"].pk])]


def test_reevaluate_hosting_command_prints_what_waits_for_the_next_run(
    cases, write_file, import_data, settings, sent_tasks, django_capture_on_commit_callbacks, capsys
):
    settings.REEVALUATE_MAX_RETRACES = 0
    move_polder(write_file, import_data)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("reevaluate_hosting", "--no-progress")

    assert capsys.readouterr().out.splitlines()[1:] == [
        "Hosting changed for 1 (provider 1, asn 0, country 1); 1 new url.hosting_changed events; "
        "0 re-traces queued.",
        "1 re-traces over REEVALUATE_MAX_RETRACES wait for the next re-evaluation (the next import, or "
        "manage.py reevaluate_hosting).",
    ]
    assert (changes()[0][1]["retrace"], sent_tasks()) == (False, [])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_import_registry_command_moves_the_case_through_a_real_worker(
    transactional_db, start_worker, dns_server, make_url, write_file, import_data, now
):
    """The whole path: the command imports, re-evaluates and queues; a worker re-traces; the case hops."""
    import time

    import_data("ripe", write_file("ripe.db", dump(*LOWLAND)), as_of=T0)
    import_data("pyasn", write_file("ipasn.dat", IPASN), as_of=T0)
    dns_server.set_record("moved.example", "A", ["198.51.100.20"])
    case = make_url("moved.example")
    first = trace_url(url=case, now=now)
    start_worker(DNS_RESOLVER=dns_server.address, RDAP_BASE_URL="")

    call_command(
        "import_registry",
        "ripe",
        write_file("moved.db", dump(*MOVED)),
        "--no-progress",
        "--as-of",
        (T0 + timedelta(days=1)).isoformat(),
    )

    deadline = time.monotonic() + 90  # a bound for a busy machine; the loop ends as soon as the worker did it
    while Url.objects.get(pk=case.pk).current_trace_id == first.pk and time.monotonic() < deadline:
        time.sleep(0.1)
    case.refresh_from_db()
    trace = case.current_trace
    assert (trace.is_hop, trace.provider.name, trace.country, case.provider_id) == (
        True,
        "Balkan Servers OOD",
        "BG",
        trace.provider_id,
    )
    assert list(Event.objects.filter(url=case).order_by("pk").values_list("kind", flat=True))[-4:] == [
        "url.traced",
        "url.hosting_changed",
        "url.traced",
        "url.hopped",
    ]


def test_reevaluation_of_the_demo_cases_finds_no_change(
    dns_server, db, django_capture_on_commit_callbacks, now
):
    """Hand-entered networks, a transit prefix, a CNAME and an IPv6 host: the index and the trace agree."""
    from notices.demo.data import load_demo_data
    from notices.demo.network import DNS_ZONE

    load_demo_data()
    for host, records in DNS_ZONE.items():
        for kind, values in records.items():
            dns_server.set_record(host, kind, values if isinstance(values, list) else [values])
    for case in Url.objects.all():
        trace_url(url=case, now=now)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        summary = reevaluate_open_cases(now=now + timedelta(hours=1))

    assert (summary.examined, summary.changed, callbacks) == (6, 0, [])
