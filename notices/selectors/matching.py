"""Same material on other cases: reports' hash values matched across hosts and providers.

A case holds the values its reports carried (MediaHash). Another case holding one of them shows the same
material — the same images moved to another host, or mirrored on many. Lookups go through the value index
(`mediahash_value_idx`): the case's own values (`mediahash_url_idx`), then every other case with each value.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from notices.models import MediaHash, Url

MAX_MATCHES = 200  # cases listed per case page or API answer (the oldest first)


@dataclass(frozen=True)
class Match:
    """Another case with the same material, and by which algorithms its values matched."""

    url: Url
    algorithms: tuple[str, ...]


def same_material(url_id: int, *, limit: int = MAX_MATCHES) -> list[Match]:
    """The other cases sharing a hash value with case `url_id`, oldest first, at most `limit`."""
    table = MediaHash._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT other.url_id, array_agg(DISTINCT other.algorithm ORDER BY other.algorithm)
                FROM {table} mine
                JOIN {table} other ON other.algorithm = mine.algorithm AND other.value = mine.value
                WHERE mine.url_id = %s AND other.url_id <> %s
                GROUP BY other.url_id ORDER BY other.url_id LIMIT %s""",
            [url_id, url_id, limit],
        )
        found = cursor.fetchall()
    urls = Url.objects.select_related("provider").in_bulk([pk for pk, _ in found])
    return [Match(url=urls[pk], algorithms=tuple(algorithms)) for pk, algorithms in found if pk in urls]
