"""The document that is published: the postmortem's Markdown with a header that links back
to the incident's web page and Slack channel, and the metric chart as a PNG. One Markdown
parser (markdown-it, CommonMark with tables, raw HTML off) serves every target: XHTML for
Confluence's storage format and Google Docs' HTML import, blocks for Notion."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.incidents.models import Incident

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

CHART_FILE = "metrics-chart.png"
SLACK_CHANNEL_LINK = "https://slack.com/app_redirect?channel={channel}"


def markdown_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # loaded by the first publish, not at start

    return MarkdownIt("commonmark", {"html": False, "xhtmlOut": True}).enable("table")


@dataclass(frozen=True)
class Document:
    title: str
    markdown: str  # the postmortem, with the links header
    version: int  # the postmortem version it holds
    chart_png: bytes | None = None
    chart_note: str = ""  # why there is no chart, when there is none

    def html(self, image: str) -> str:
        """XHTML of the Markdown; `image` is the chart's markup (target-specific), put
        before the Metrics section (or at the end)."""
        body: str = markdown_parser().render(self.markdown)
        figure = image if self.chart_png is not None else f"<p><em>{self.chart_note}</em></p>"
        marker = "<h2>Metrics</h2>"
        if figure and marker in body:
            return body.replace(marker, marker + "\n" + figure, 1)
        return body + figure

    def data_uri(self) -> str:
        assert self.chart_png is not None
        return "data:image/png;base64," + base64.b64encode(self.chart_png).decode()


def document_title(incident: Incident) -> str:
    """A private incident's title stays in its channel: the label is the document's title."""
    if incident.private:
        return f"Postmortem: {incident.public_label}"
    return f"Postmortem {incident.id}: {incident.title}"[:255]


def links_header(incident: Incident, web_base_url: str | None) -> str:
    lines = [f"Incident **{incident.id}** ({incident.severity.label}) · postmortem drafted by "
             "incident-bot; it follows every new version."]
    if web_base_url:
        lines.append(f"- Incident page: {web_base_url.rstrip('/')}/incidents/{incident.id}")
    lines.append(f"- Slack channel: {SLACK_CHANNEL_LINK.format(channel=incident.channel_id)}")
    return "\n".join(lines) + "\n\n"


def build_document(
    incident: Incident, markdown: str, version: int, *, web_base_url: str | None,
    chart_png: bytes | None, chart_note: str,
) -> Document:
    # the Markdown's own first line is its `# title`: the document's title replaces it
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body = links_header(incident, web_base_url) + "\n".join(lines).lstrip("\n")
    return Document(title=document_title(incident), markdown=body, version=version,
                    chart_png=chart_png, chart_note=chart_note)
