"""Each document and calendar stand-in checked once with the vendor's own Python client
(dev dependencies): atlassian-python-api's ConfluenceCloud (REST v2), notion-client, and
google-api-python-client with google-auth's service-account credentials (which sign their
own JWT for the stand-in's token endpoint). What the vendor's client sends, the stand-in
takes; what it refuses, the vendor's client reports as the vendor's error. Zoom publishes
no official Python client, so its stand-in is checked by the adapter tests only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httplib2
import pytest
import requests
from atlassian.confluence.cloud.cloud import ConfluenceCloud
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload
from notion_client import APIResponseError
from notion_client import Client as NotionClient

from sandbox.standins import ConfluenceStandin, GoogleStandin, NotionStandin


@pytest.fixture(scope="module")
def confluence() -> Iterator[ConfluenceStandin]:
    s = ConfluenceStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.fixture(scope="module")
def notion() -> Iterator[NotionStandin]:
    s = NotionStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleStandin]:
    # https: google-api-python-client keeps the https scheme of its media upload URLs
    s = GoogleStandin(tls=True).start()
    yield s  # type: ignore[misc]
    s.stop()


def test_atlassian_python_api_against_the_confluence_standin(
    confluence: ConfluenceStandin,
) -> None:
    confluence.reset()
    client = ConfluenceCloud(url=f"{confluence.base_url}/wiki", username=confluence.email,
                             password=confluence.api_token, cloud=True)
    page = client.create_page(space_id=confluence.space_id, title="Postmortem INC-1",
                              body="<h2>Summary</h2><p>Checkout <strong>500s</strong></p>",
                              parent_id="65601")
    assert page["version"]["number"] == 1 and page["parentId"] == "65601"
    assert client.get_page_by_id(page["id"])["title"] == "Postmortem INC-1"
    updated = client.update_page(page["id"], title="Postmortem INC-1",
                                 body="<p>version two</p>", status="current")
    assert updated["version"]["number"] == 2
    with pytest.raises(requests.HTTPError) as stale:  # an old version number: 409
        client.update_page(page["id"], title="Postmortem INC-1", body="<p>x</p>",
                           status="current", version=0)
    assert stale.value.response.status_code == 409
    with pytest.raises(requests.HTTPError) as broken:  # not well-formed storage
        client.create_page(space_id=confluence.space_id, title="Broken", body="<p>open")
    assert broken.value.response.status_code == 400
    wrong = ConfluenceCloud(url=f"{confluence.base_url}/wiki", username=confluence.email,
                            password="not-the-token", cloud=True)
    with pytest.raises(requests.HTTPError) as refused:
        wrong.get_page_by_id(page["id"])
    assert refused.value.response.status_code == 401


def test_notion_client_against_the_notion_standin(notion: NotionStandin) -> None:
    notion.reset()
    client = NotionClient(auth=notion.token, base_url=notion.base_url)
    page = client.pages.create(
        parent={"page_id": notion.parent_page_id},
        properties={"title": {"title": [{"type": "text", "text": {"content": "INC-1"}}]}},
        children=[{"object": "block", "type": "heading_2", "heading_2": {
            "rich_text": [{"type": "text", "text": {"content": "Summary"}}]}}],
    )
    assert page["object"] == "page" and page["url"].startswith("https://")
    upload = client.file_uploads.create(filename="chart.png", content_type="image/png")
    sent = client.file_uploads.send(upload["id"], file=("chart.png", io.BytesIO(b"\x89PNG"),
                                                        "image/png"))
    assert sent["status"] == "uploaded"
    client.blocks.children.append(page["id"], children=[
        {"type": "image", "image": {"type": "file_upload", "file_upload": {"id": upload["id"]}}},
        {"type": "table", "table": {"table_width": 2, "has_column_header": True,
                                    "has_row_header": False, "children": [
            {"type": "table_row", "table_row": {"cells": [
                [{"type": "text", "text": {"content": "Time"}}],
                [{"type": "text", "text": {"content": "Event"}}]]}}]}},
    ])
    listing = client.blocks.children.list(page["id"], page_size=2)
    assert listing["has_more"] is True and len(listing["results"]) == 2
    rest = client.blocks.children.list(page["id"], start_cursor=listing["next_cursor"])
    assert len(rest["results"]) == 1
    client.blocks.delete(listing["results"][0]["id"])
    assert len(notion.children_of(page["id"])) == 2
    with pytest.raises(APIResponseError) as too_many:
        client.blocks.children.append(page["id"], children=[
            {"type": "divider", "divider": {}} for _ in range(101)])
    assert too_many.value.code == "validation_error"
    with pytest.raises(APIResponseError) as too_long:
        client.blocks.children.append(page["id"], children=[{"type": "paragraph", "paragraph": {
            "rich_text": [{"type": "text", "text": {"content": "x" * 2001}}]}}])
    assert too_long.value.code == "validation_error"
    with pytest.raises(APIResponseError) as refused:
        NotionClient(auth="ntn_wrong", base_url=notion.base_url).pages.create(
            parent={"page_id": notion.parent_page_id}, properties={})
    assert refused.value.code == "unauthorized"


def _http(google: GoogleStandin, folder: Path, scope: str) -> AuthorizedHttp:
    """google-auth's service-account credentials over httplib2, not verifying the stand-in's
    throwaway certificate (token refreshes go through the same connection)."""
    credentials = service_account.Credentials.from_service_account_file(
        str(google.key_file(folder)), scopes=[scope])
    return AuthorizedHttp(credentials,
                          http=httplib2.Http(disable_ssl_certificate_validation=True))


def test_google_api_python_client_against_the_google_standin(
    google: GoogleStandin, tmp_path: Path,
) -> None:
    google.reset()
    options = {"api_endpoint": f"{google.base_url}/drive/v3/"}  # the API's service path
    drive = build("drive", "v3", client_options=options, static_discovery=True,
                  http=_http(google, tmp_path, "https://www.googleapis.com/auth/drive.file"))
    media = MediaIoBaseUpload(io.BytesIO(b"<html><body><h1>INC-1</h1></body></html>"),
                              mimetype="text/html", resumable=False)
    created = drive.files().create(
        body={"name": "Postmortem INC-1", "mimeType": "application/vnd.google-apps.document",
              "parents": ["0AFolderPostmortems"]},
        media_body=media, fields="id,webViewLink").execute()
    assert created["webViewLink"].endswith("/edit")
    again = MediaIoBaseUpload(io.BytesIO(b"<html><body><p>v2</p></body></html>"),
                              mimetype="text/html", resumable=False)
    drive.files().update(fileId=created["id"], body={"name": "Postmortem INC-1"},
                         media_body=again, fields="id").execute()
    assert google.files[created["id"]]["version"] == 2 and "v2" in google.files[
        created["id"]]["html"]
    with pytest.raises(HttpError) as missing:
        drive.files().create(body={"name": "x", "mimeType": "application/vnd.google-apps."
                                   "document", "parents": ["0ANoSuchFolder"]},
                             media_body=MediaIoBaseUpload(io.BytesIO(b"<p/>"),
                                                          mimetype="text/html"),
                             fields="id").execute()
    assert missing.value.resp.status == 404
    calendar = build("calendar", "v3", static_discovery=True,
                     client_options={"api_endpoint": f"{google.base_url}/calendar/v3/"},
                     http=_http(google, tmp_path,
                                "https://www.googleapis.com/auth/calendar.events"))
    event = calendar.events().insert(
        calendarId=google.calendar_id, conferenceDataVersion=1,
        body={"summary": "INC-1 call", "start": {"dateTime": "2026-11-23T14:00:00Z"},
              "end": {"dateTime": "2026-11-23T15:00:00Z"},
              "conferenceData": {"createRequest": {
                  "requestId": "INC-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}},
    ).execute()
    assert event["hangoutLink"].startswith("https://meet.")
    assert event["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    with pytest.raises(HttpError) as scope:  # a calendar token cannot write to Drive
        build("drive", "v3", client_options=options, static_discovery=True,
              http=_http(google, tmp_path, "https://www.googleapis.com/auth/calendar.events")
              ).files().create(body={"name": "x"}, media_body=MediaIoBaseUpload(
                  io.BytesIO(b"<p/>"), mimetype="text/html"), fields="id").execute()
    assert scope.value.resp.status == 403
