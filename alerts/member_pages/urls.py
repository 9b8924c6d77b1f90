"""``/handoffs/...``: the member-facing handoff pages."""

from __future__ import annotations

from django.urls import path

from alerts.member_pages import views

urlpatterns = [
    path("", views.handoff_list, name="handoff-list"),
    path("<int:pk>/", views.handoff_note, name="handoff-note"),
    path("link/<str:token>/", views.handoff_link, name="handoff-link"),
]
