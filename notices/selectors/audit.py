"""Reading the audit log: which rows concern a case, for the auditor's filter and for the retention purge."""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_

from django.db.models import Q

from notices.models import NoticeItem


def about_urls(url_ids: Iterable[int]) -> Q:
    """Audit rows that concern any of these cases: rows about the URL itself, rows whose data lists it (lists,
    actions over many rows, per-URL exports), and rows about a notice that names it — views, exports and
    lists of that notice, in the admin, the portal and either API. Every test is served by an index
    (audit_object_idx, audit_data_idx)."""
    ids = sorted(set(url_ids))
    references = sorted(
        set(NoticeItem.objects.filter(url_id__in=ids).values_list("notice__reference", flat=True))
    )
    tests = [Q(object_type="url", object_id__in=[str(pk) for pk in ids])]
    tests += [Q(data__contains={"urls": [pk]}) | Q(data__contains={"url_id": pk}) for pk in ids]
    if references:
        tests.append(Q(object_type="notice", object_id__in=references))
        tests += [Q(data__contains={"references": [reference]}) for reference in references]
    return reduce(or_, tests)
