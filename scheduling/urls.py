from __future__ import annotations

from django.urls import path

from scheduling.api import (
    OverrideDetailView,
    TeamOnCallView,
    TeamOverridesView,
    TeamScheduleView,
)

urlpatterns = [
    path("teams/<slug:slug>/oncall/", TeamOnCallView.as_view(), name="team-oncall"),
    path(
        "teams/<slug:slug>/schedule/", TeamScheduleView.as_view(), name="team-schedule"
    ),
    path(
        "teams/<slug:slug>/overrides/",
        TeamOverridesView.as_view(),
        name="team-overrides",
    ),
    path("overrides/<int:pk>/", OverrideDetailView.as_view(), name="override-detail"),
]
