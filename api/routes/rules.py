"""``/api/v1/rules``: how the automation rules behave, for a dashboard or an alert outside the
app: per rule, runs fired, skipped and failed over the last 7 and 30 days and the top skip
reasons (the figures of Settings → Automation).

Rules act on every inbox and skip reasons quote conversations' facts, so only a key that sees
every inbox may read them (a key scoped to some inboxes gets 403)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from api.auth import ApiScope, require_api_key
from api.deps import SessionDep, SettingsDep
from api.schemas import ErrorOut
from inbox.models.base import utcnow
from inbox.services.admin import automation, rule_stats

router = APIRouter(
    prefix="/api/v1/rules",
    tags=["rules"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


class SkipReasonOut(BaseModel):
    reason: str
    count: int


class WindowOut(BaseModel):
    days: int
    fired: int
    skipped: int
    failed: int = Field(description="Runs with an action that failed (counted here, not fired)")
    top_skip_reasons: list[SkipReasonOut] = Field(
        description="The most frequent skip reasons in the window, most frequent first"
    )


class RuleStatsOut(BaseModel):
    rule: str
    in_force: bool = Field(description="False for a rule that ran but is in no rule file now")
    windows: list[WindowOut]


class RuleStatsList(BaseModel):
    items: list[RuleStatsOut]


@router.get(
    "/stats",
    response_model=RuleStatsList,
    responses={403: {"model": ErrorOut, "description": "The key does not see every inbox"}},
)
def rules_stats(session: SessionDep, settings: SettingsDep, scope: ApiScope) -> RuleStatsList:
    """Every rule in force and every rule that ran in the last 30 days, in force first."""
    if not scope.everything:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "rule statistics are business-wide: use a key for every inbox",
        )
    found = rule_stats.rule_stats(
        session, rules_in_force=automation.rules_in_force(settings.rules_dir), now=utcnow()
    )
    return RuleStatsList(
        items=[
            RuleStatsOut(
                rule=stats.rule,
                in_force=stats.in_force,
                windows=[
                    WindowOut(
                        days=days,
                        fired=stats.counts[days].fired,
                        skipped=stats.counts[days].skipped,
                        failed=stats.counts[days].failed,
                        top_skip_reasons=[
                            SkipReasonOut(reason=reason, count=n)
                            for reason, n in stats.skip_reasons[days]
                        ],
                    )
                    for days in rule_stats.WINDOWS
                ],
            )
            for stats in found
        ]
    )
