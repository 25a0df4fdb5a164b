"""The admins' settings pages, one router module per page, all under ``/settings/`` and all
admin-only (see :func:`web.settings.common.admin_router`); plus the public set-password page
that an invitation link opens."""

from __future__ import annotations

from fastapi import APIRouter

from web.settings import (
    api_keys,
    audit,
    automation,
    blocklist,
    canned_replies,
    channels,
    compliance,
    export,
    fields,
    imports,
    inboxes,
    index,
    merge_fields,
    password,
    users,
)

# Every settings page's module (all admin-only); the set-password page is apart.
ADMIN_PAGES = (
    index,
    channels,
    inboxes,
    users,
    blocklist,
    fields,
    merge_fields,
    canned_replies,
    imports,
    export,
    api_keys,
    automation,
    compliance,
    audit,
)

# Included into the app one by one (see ``web.router``).
routers: tuple[APIRouter, ...] = tuple(module.router for module in (*ADMIN_PAGES, password))
