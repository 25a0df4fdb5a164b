"""Every web screen's router, in one place for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from web import live, settings
from web.routes import (
    actions,
    auth,
    canned_replies,
    cards,
    contact_merge,
    contacts,
    inbox,
    list_view,
    media,
    new,
    notifications,
    panel,
    prefs,
    reports,
    tags,
)

# Flat, each to be included into the app on its own: FastAPI keeps an included router as a
# router and matches a request level by level, so nesting these in one more router made every
# page pay for matching through it twice (once to choose it, again inside it).
routers: tuple[APIRouter, ...] = (
    *(
        m.router
        for m in (
            auth,
            inbox,
            actions,
            panel,
            contacts,
            contact_merge,
            list_view,
            cards,
            new,
            prefs,
            notifications,
            canned_replies,
            tags,
            media,
            reports,
            live,
        )
    ),
    *settings.routers,
)
