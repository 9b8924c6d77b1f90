"""The operator's console for alerts (Django admin), one module per concern.

Admin classes and actions parse input and call the services (``alerts.intake``,
``alerts.incidents``, ...); they hold no rules of their own.  Importing this
package registers every model admin (Django's admin autodiscovery imports it).
"""

from alerts.admin import (  # noqa: F401  (imported to register the admins)
    deliveries,
    escalation,
    handoffs,
    imports,
    incidents,
    insights,
    integrations,
    maintenance,
    postmortems,
    routes,
    slos,
)
