"""Scheduling: teams, members, rotations, shifts, overrides, and who is on call.

The map of the app, bottom to top.  A module imports only from the layers below
it (and its own); nothing here imports ``alerts`` or ``oncall`` -- ``alerts`` uses
the models, selectors, services and access rules of this app, never the
other way round.

Interfaces (parse input, check access, call one service or selector, answer)
    ``api.py`` + ``serializers.py`` + ``urls.py``
                            the REST API under ``/api/v1/`` (who is on call,
                            schedule, overrides)
    ``admin.py`` + ``forms.py`` + ``picture.py`` + ``templates/``
                            the operators' console; ``picture.py`` lays the
                            schedule picture out (geometry only, no writes)
    ``resources/``          ``/api/v1/teams/``, ``members/``, ``rotations/``
                            (with ``preview``), ``shifts/``: configuration
                            through the services below; cursor pagination
    ``token_views.py``      ``/api/v1/tokens/``: make, list, revoke API tokens
    ``feed_views.py``       ``/ical/<token>.ics``: a feed, for calendar apps
    ``feed_api.py``         ``/api/v1/feeds/``: make, list, revoke, rotate feeds
    ``feed_admin.py``       the admin's iCal feeds page (registered by apps.py)
    ``pay_api.py``          ``/api/v1/reports/stipends/``: reports, statements,
                            closing and reopening months
    ``pay_admin.py``        rates, pay policies and holidays, closed months, the
                            pay report page (registered by apps.py)
    ``metrics.py``          Prometheus: stipends accrued this month (registered
                            by oncall/apps.py)
    ``authentication.py``   ``Authorization: Bearer <token>`` (DRF)
    ``throttling.py``       per-token rate limits (DRF), 429 with Retry-After
    ``schema.py``           the Bearer scheme in the OpenAPI schema (loaded by
                            ``apps.py``)
    ``tasks.py``            Celery: keep every rotation materialized ahead
    ``management/commands/oncall_now.py``
                            who is on call, from the shell
    ``management/commands/oncall_token.py``
                            an API token from the shell (an admin's first)

Services (writes that carry a rule; keyword-only ``<entity>_<verb>``, one
transaction each, called alike by the admin, the API and tasks)
    ``teams.py``            ``team_create``, ``team_update``/``team_put``: a new
                            time zone regenerates the future shifts of the
                            team's rotations
    ``members.py``          people and their teams: ``member_create``,
                            ``member_update``, ``membership_add``/``remove``
                            (nobody leaves a team while on its rotation)
    ``rotations.py``        ``rotation_create``/``update``/``preview``: rosters
                            that fit the scheme, regenerating after a change,
                            no deleting a rotation with history
    ``materialize.py``      store the shifts a definition says, up to the horizon
    ``overrides.py``        create, update, swap and delete overrides, validated
                            so an override changes who, never coverage
    ``tokens.py``           API tokens: make one (secret returned once, hash
                            stored), revoke, find the live token of a secret
    ``feeds.py``            iCal feed tokens, the same way; the poll lookup
    ``ical.py``             a feed's calendar from ``team_schedule``, written by
                            ``icalendar``; SEQUENCE kept in ``FeedEvent`` rows
    ``pay/``                on-call pay: rates, accrual from ``team_schedule``,
                            statements, closed months and adjustments, the CSV

Selectors (reads)
    ``selectors.py``        ``oncall_at`` (*the* answer to who is on call),
                            ``team_schedule``, ``next_shift_for``, ...
    ``version.py``          the schedule version every schedule write bumps
                            (feeds cache on it)
    ``access/``             who may see and do what: ``rules.py`` (the single
                            source: ``teams_visible``, ``team_can_read``,
                            ``incident_can_act``, ...) and ``permissions.py``
                            (the same rules as DRF permission classes and 404
                            lookups for the API views); beside the selectors, on
                            the models only

Models
    ``models.py``           Team, Member, TeamMembership, Rotation,
                            RotationParticipant, Shift, Override, ApiToken,
                            FeedToken, FeedEvent, ScheduleVersion; pay:
                            StipendRate, PayPolicy, PayHoliday, PayMonth,
                            PayLine, PayLogEntry
    ``validators.py``       field validators (E.164 phone, time zone)

Pure core (no database, no Django models; property-tested)
    ``plan.py``             a rotation definition as a plan: slots, handoffs in
                            local time across DST, who holds which role
    ``effective.py``        the effective schedule: layers and overrides applied
                            to shifts -- the one resolver every view of the
                            schedule uses
    ``timeparse.py``        ISO 8601 instants that must carry an offset
"""
