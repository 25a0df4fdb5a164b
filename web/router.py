"""Every web screen's router, in one place for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from web import live, settings
from web.routes import actions, auth, cards, contacts, inbox, list_view, new, prefs

router = APIRouter(include_in_schema=False)
for module in (auth, inbox, actions, contacts, list_view, cards, new, prefs, live):
    router.include_router(module.router)
router.include_router(settings.router)
