"""On-call pay: stipend rates, accrual from the effective schedule, statements.

Bottom to top (each module imports only those above it in this list; checked
by import-linter):

    ``money.py``      exact amounts (Fraction), a currency's minor unit (babel's
                      CLDR data), rounding half-up once per line
    ``rates.py``      which rate pays a role of a rotation on a local date
    ``calendar.py``   weekend days and holidays (``holidays`` + operator-added)
    ``accrual.py``    pure: the effective schedule's holders, priced per run
                      of local days, caps, the minimum per shift
    ``statements.py`` a team's pay over a period (the two-roles rule picks the
                      timeline: layered or per rotation): lines, totals, the "why"
    ``closing.py``    months closed and stored; adjustments for late changes;
                      reopening (logged)
    ``export.py``     the payroll CSV

The schedule comes only from :func:`scheduling.selectors.team_schedule` (the one
resolver); nothing here computes one.  The rules are in the README ("On-call pay").
"""
