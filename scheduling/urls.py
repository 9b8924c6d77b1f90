from __future__ import annotations

from django.urls import path

from scheduling.api import (
    OverrideDetailView,
    TeamOnCallView,
    TeamOverridesView,
    TeamScheduleView,
)
from scheduling.token_views import TokenDetailView, TokenListView

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
    path("tokens/", TokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/", TokenDetailView.as_view(), name="token-detail"),
]
