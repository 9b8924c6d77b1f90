from __future__ import annotations

from django.urls import path

from scheduling.api import (
    OverrideDetailView,
    TeamConflictsView,
    TeamOnCallView,
    TeamOverridesView,
    TeamScheduleView,
)
from scheduling.feed_api import FeedDetailView, FeedListView, FeedRotateView
from scheduling.pay_api import (
    StipendCloseView,
    StipendReopenView,
    StipendReportView,
    StipendStatementsView,
)
from scheduling.resources.members import MemberDetailView, MemberListView
from scheduling.resources.rotations import (
    RotationDetailView,
    RotationListView,
    RotationPreviewView,
)
from scheduling.resources.shifts import ShiftListView
from scheduling.resources.teams import (
    TeamDetailView,
    TeamListView,
    TeamMemberDetailView,
    TeamMembersView,
)
from scheduling.token_views import TokenDetailView, TokenListView

urlpatterns = [
    path("teams/", TeamListView.as_view(), name="team-list"),
    path("teams/<str:key>/", TeamDetailView.as_view(), name="team-detail"),
    path("teams/<str:key>/members/", TeamMembersView.as_view(), name="team-members"),
    path(
        "teams/<str:key>/members/<str:username>/",
        TeamMemberDetailView.as_view(),
        name="team-member-detail",
    ),
    path("members/", MemberListView.as_view(), name="member-list"),
    path("members/<str:key>/", MemberDetailView.as_view(), name="member-detail"),
    path("rotations/", RotationListView.as_view(), name="rotation-list"),
    path("rotations/preview/", RotationPreviewView.as_view(), name="rotation-preview"),
    path("rotations/<str:key>/", RotationDetailView.as_view(), name="rotation-detail"),
    path("shifts/", ShiftListView.as_view(), name="shift-list"),
    path("teams/<slug:slug>/oncall/", TeamOnCallView.as_view(), name="team-oncall"),
    path(
        "teams/<slug:slug>/schedule/", TeamScheduleView.as_view(), name="team-schedule"
    ),
    path(
        "teams/<slug:slug>/conflicts/",
        TeamConflictsView.as_view(),
        name="team-conflicts",
    ),
    path(
        "teams/<slug:slug>/overrides/",
        TeamOverridesView.as_view(),
        name="team-overrides",
    ),
    path("overrides/<int:pk>/", OverrideDetailView.as_view(), name="override-detail"),
    path("tokens/", TokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/", TokenDetailView.as_view(), name="token-detail"),
    path("feeds/", FeedListView.as_view(), name="feed-list"),
    path("feeds/<int:pk>/", FeedDetailView.as_view(), name="feed-detail"),
    path("feeds/<int:pk>/rotate/", FeedRotateView.as_view(), name="feed-rotate"),
    path("reports/stipends/", StipendReportView.as_view(), name="report-stipends"),
    path(
        "reports/stipends/statements/",
        StipendStatementsView.as_view(),
        name="report-stipend-statements",
    ),
    path(
        "reports/stipends/close/",
        StipendCloseView.as_view(),
        name="report-stipends-close",
    ),
    path(
        "reports/stipends/reopen/",
        StipendReopenView.as_view(),
        name="report-stipends-reopen",
    ),
]
