"""Who may see and do what: the single source of the API's permissions.

``rules.py`` holds the rules as plain functions of a user and an object (no
request, no DRF), so views, the admin, reports and other apps ask the same
questions the same way:

==========================  =========  ===================  =============
what                        staff      member of the team   anyone else
==========================  =========  ===================  =============
read a team (schedule,      yes        yes                  404
who is on call, overrides,
incidents, alerts, pages,
timeline, reports)
create/delete overrides     yes        yes                  404
ack/resolve/escalate        yes        yes                  404
create teams, members       yes        403                  403
change a team's             yes        read; change: 403    404
configuration (rotations,
routes, policies, ...)
a member's profile          yes        their own phone and  404
                                       time zone; the rest
                                       and a teammate's:
                                       read only (403)
a member's contact methods  yes        their own; a         404
                                       teammate's: read
                                       only (403)
API tokens                  yes (any)  their own            404
iCal feeds                  yes (any)  their own member     404 (a team:
                                       feed; their teams'   400 naming it)
                                       and rotations' feeds
==========================  =========  ===================  =============

"Anyone else" is another team's member or a user with no member profile; an
anonymous request is refused before any rule is asked (401).  A 404 hides what
the caller may not know exists; a 403 answers a caller who may see the object
but not change it.  ``permissions.py`` turns the rules into DRF permission
classes and queryset scoping for the API views; a token's scopes (``read``,
``write``) narrow what its user may do, never widen it.
"""

from scheduling.access.rules import (
    feed_can_create,
    feeds_visible,
    incident_can_act,
    incident_can_read,
    member_can_change,
    member_can_manage,
    member_can_read,
    members_visible,
    scoped_to_teams,
    team_can_configure,
    team_can_edit_schedule,
    team_can_manage_slos,
    team_can_read,
    teams_visible,
    token_can_issue_for,
    tokens_visible,
    user_is_staff,
)

__all__ = [
    "feed_can_create",
    "feeds_visible",
    "incident_can_act",
    "team_can_manage_slos",
    "incident_can_read",
    "member_can_change",
    "member_can_manage",
    "member_can_read",
    "members_visible",
    "scoped_to_teams",
    "team_can_configure",
    "team_can_edit_schedule",
    "team_can_read",
    "teams_visible",
    "token_can_issue_for",
    "tokens_visible",
    "user_is_staff",
]
