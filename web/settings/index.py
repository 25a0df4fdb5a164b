"""``/settings``: straight to the first settings page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from web.auth import AdminUser
from web.settings.common import admin_router, back

router: APIRouter = admin_router("")


@router.get("")
def settings_home(user: AdminUser) -> Response:
    """Channels come first: nothing works without a number."""
    return back("/settings/channels")
