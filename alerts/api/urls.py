"""The alerts app's API: integrations, routes, escalation policies, maintenance
windows, members' contact methods, incidents, handoff notes, postmortems, SLOs and the
deploy gate, the insights reports (``/api/v1/reports/...``) and each team's
insight settings."""

from __future__ import annotations

from django.urls import path

from alerts.api import (
    contacts,
    handoffs,
    insight_settings,
    integrations,
    maintenance,
    policies,
    postmortems,
    reports,
    routes,
    slo_config,
    slos,
)
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
    path(
        "teams/<slug:slug>/insight-settings/",
        insight_settings.InsightSettingsView.as_view(),
        name="team-insight-settings",
    ),
    path(
        "reports/page-load/",
        reports.PageLoadReport.as_view(),
        name="report-page-load",
    ),
    path(
        "reports/incidents/",
        reports.IncidentsReport.as_view(),
        name="report-incidents",
    ),
    path(
        "reports/alert-quality/",
        reports.AlertQualityReport.as_view(),
        name="report-alert-quality",
    ),
    path(
        "incidents/<int:pk>/postmortem/",
        postmortems.IncidentPostmortem.as_view(),
        name="incident-postmortem",
    ),
    path("postmortems/", postmortems.PostmortemList.as_view(), name="postmortem-list"),
    path(
        "postmortems/<int:pk>/incidents/",
        postmortems.PostmortemIncidents.as_view(),
        name="postmortem-incidents",
    ),
    path(
        "postmortems/<int:pk>/incidents/<int:incident_id>/",
        postmortems.PostmortemIncidentDetail.as_view(),
        name="postmortem-incident-detail",
    ),
    path(
        "postmortems/overdue/",
        postmortems.OverdueActionItems.as_view(),
        name="postmortem-overdue",
    ),
    path(
        "postmortems/<int:pk>/",
        postmortems.PostmortemDetail.as_view(),
        name="postmortem-detail",
    ),
    path(
        "postmortems/action-items/<int:pk>/",
        postmortems.ActionItemDetail.as_view(),
        name="action-item-detail",
    ),
    path(
        "postmortems/<int:pk>/action-items/",
        postmortems.PostmortemActionItems.as_view(),
        name="postmortem-action-items",
    ),
    path(
        "services/<str:slug>/deploy-gate",
        slos.ServiceDeployGate.as_view(),
        name="service-deploy-gate",
    ),
    path(
        "services/<str:slug>/deploys/",
        slos.ServiceDeploys.as_view(),
        name="service-deploys",
    ),
    path("services/", slo_config.ServiceListView.as_view(), name="service-list"),
    path(
        "services/<str:slug>/",
        slo_config.ServiceDetailView.as_view(),
        name="service-detail",
    ),
    path("slos/", slo_config.SLOListView.as_view(), name="slo-list"),
    path("slos/<int:pk>/", slo_config.SLODetailView.as_view(), name="slo-detail"),
    path("slos/rules.yaml", slos.SLORules.as_view(), name="slo-rules"),
    path(
        "slos/openslo.yaml",
        slo_config.OpenSLOExport.as_view(),
        name="slo-openslo-export",
    ),
    path(
        "slos/openslo/",
        slo_config.OpenSLOImport.as_view(),
        name="slo-openslo-import",
    ),
    path("handoffs/", handoffs.HandoffList.as_view(), name="handoff-list-api"),
    path("handoffs/<int:pk>/", handoffs.HandoffDetail.as_view(), name="handoff-detail"),
    path(
        "handoffs/<int:pk>/submit/",
        handoffs.HandoffSubmit.as_view(),
        name="handoff-submit",
    ),
    path(
        "handoffs/<int:pk>/acknowledge/",
        handoffs.HandoffAcknowledge.as_view(),
        name="handoff-acknowledge",
    ),
]
