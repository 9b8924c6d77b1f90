"""The alerts app's API: integrations, routes, escalation policies, maintenance
windows, members' contact methods, incidents."""

from __future__ import annotations

from django.urls import path

from alerts.api import contacts, integrations, maintenance, policies, routes
from alerts.api import views as api

urlpatterns = [
    path(
        "integrations/",
        integrations.IntegrationListView.as_view(),
        name="integration-list",
    ),
    path(
        "integrations/<str:key>/",
        integrations.IntegrationDetailView.as_view(),
        name="integration-detail",
    ),
    path(
        "integrations/<str:key>/rotate/",
        integrations.IntegrationRotateView.as_view(),
        name="integration-rotate",
    ),
    path("routes/", routes.RouteListView.as_view(), name="route-list"),
    path("routes/<str:key>/", routes.RouteDetailView.as_view(), name="route-detail"),
    path(
        "escalation-policies/",
        policies.PolicyListView.as_view(),
        name="escalation-policy-list",
    ),
    path(
        "escalation-policies/<str:key>/",
        policies.PolicyDetailView.as_view(),
        name="escalation-policy-detail",
    ),
    path(
        "maintenance-windows/",
        maintenance.MaintenanceListView.as_view(),
        name="maintenance-window-list",
    ),
    path(
        "maintenance-windows/<int:pk>/",
        maintenance.MaintenanceDetailView.as_view(),
        name="maintenance-window-detail",
    ),
    path(
        "members/<str:key>/contact-methods/",
        contacts.MemberContactMethodsView.as_view(),
        name="member-contact-methods",
    ),
    path(
        "contact-methods/<int:pk>/",
        contacts.ContactMethodDetailView.as_view(),
        name="contact-method-detail",
    ),
    path("incidents/", api.IncidentList.as_view(), name="incident-list"),
    path("incidents/<int:pk>/", api.IncidentDetail.as_view(), name="incident-detail"),
    path(
        "incidents/<int:pk>/alerts/",
        api.IncidentAlerts.as_view(),
        name="incident-alerts",
    ),
    path(
        "incidents/<int:pk>/timeline/",
        api.IncidentTimeline.as_view(),
        name="incident-timeline",
    ),
    path("incidents/<int:pk>/ack/", api.IncidentAck.as_view(), name="incident-ack"),
    path(
        "incidents/<int:pk>/resolve/",
        api.IncidentResolve.as_view(),
        name="incident-resolve",
    ),
    path(
        "incidents/<int:pk>/escalate/",
        api.IncidentEscalate.as_view(),
        name="incident-escalate",
    ),
    path(
        "incidents/<int:pk>/pages/", api.IncidentPages.as_view(), name="incident-pages"
    ),
]
