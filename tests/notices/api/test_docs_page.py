"""The API docs page (/api/docs/) runs only the project's own code: Swagger UI comes from our static files
(drf-spectacular-sidecar, served by whitenoise), never from a CDN, so it also works offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db

DOCS = "/api/docs/"


class _References(HTMLParser):
    """Every src/href an element of the page loads or links to."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.found.append((tag, name, value))


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("docs-staff", password="x" * 16, is_staff=True)
    client.force_login(user)
    return client


def _docs_html(client) -> str:
    response = client.get(DOCS)
    assert response.status_code == 200
    return response.content.decode()


def test_docs_page_names_no_other_origin(staff_client):
    html = _docs_html(staff_client)
    origins = {urlsplit(url).netloc for url in re.findall(r"""https?://[^\s"'<>)]+""", html)}
    assert origins <= {"testserver"}, origins
    parser = _References()
    parser.feed(html)
    for tag, attribute, value in parser.found:
        parts = urlsplit(value)
        assert not parts.netloc or parts.netloc == "testserver", (tag, attribute, value)


def test_docs_page_scripts_and_styles_are_served_by_the_app(staff_client):
    parser = _References()
    parser.feed(_docs_html(staff_client))
    assets = [value for tag, _, value in parser.found if tag in {"script", "link"}]
    assert any(value.endswith(".js") for value in assets), assets
    assert any(value.endswith(".css") for value in assets), assets
    for value in assets:
        response = staff_client.get(value)
        assert response.status_code == 200, value
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, value
