from __future__ import annotations

from django.urls import path

from scheduling.api import TeamOnCallView

urlpatterns = [
    path("teams/<slug:slug>/oncall/", TeamOnCallView.as_view(), name="team-oncall"),
]
