"""The page's Atom feed (RFC 4287): one entry per published update of an incident or a
maintenance window, newest first. Built with the standard library's XML writer, which
escapes whatever people wrote."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from bot.statuspage.models import Maintenance, PublicIncident, PublicUpdate
from bot.statuspage.views import PageView

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def atom_feed(view: PageView) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM})
    base = view.url.rstrip("/")
    _text(feed, "id", f"{base}/feed.atom")
    _text(feed, "title", f"{view.title} status")
    _text(feed, "updated", _when(view.updated_at))
    ET.SubElement(feed, "link", {"rel": "self", "href": f"{base}/feed.atom"})
    ET.SubElement(feed, "link", {"rel": "alternate", "href": base})
    _text(_sub(feed, "author"), "name", view.title)
    items: list[tuple[PublicUpdate, PublicIncident | Maintenance, str]] = []
    for i in view.incidents:
        items += [(u, i, "incidents") for u in i.updates]
    for m in view.maintenances:
        items += [(u, m, "maintenance") for u in m.updates]
    items.sort(key=lambda t: t[0].at, reverse=True)
    for update, subject, kind in items[:ENTRIES]:
        entry = ET.SubElement(feed, "entry")
        link = f"{base}/{kind}/{subject.id}"
        _text(entry, "id", f"{link}#{update.id}")
        _text(entry, "title", f"{subject.name}: {update.status.replace('_', ' ').capitalize()}")
        _text(entry, "updated", _when(update.at))
        _text(entry, "published", _when(update.at))
        ET.SubElement(entry, "link", {"rel": "alternate", "href": link})
        affected = ", ".join(update.components) or ", ".join(_names(subject))
        body = update.body + (f"\n\nAffected: {affected}" if affected else "")
        _text(entry, "content", body, type="text")
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml


def _sub(parent: ET.Element, tag: str) -> ET.Element:
    return ET.SubElement(parent, tag)


def _names(subject: PublicIncident | Maintenance) -> list[str]:
    return list(subject.components)
