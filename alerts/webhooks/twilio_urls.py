"""Twilio webhook URLs (DESIGN.md §5): paste these into the Twilio console."""

from __future__ import annotations

from django.urls import path

from alerts.webhooks import twilio as twilio_views

urlpatterns = [
    path("sms/", twilio_views.twilio_sms, name="twilio-sms"),
    path("voice/<int:page_id>/", twilio_views.twilio_voice, name="twilio-voice"),
    path(
        "voice/bundle/<int:bundle_id>/",
        twilio_views.twilio_bundle_voice,
        name="twilio-bundle-voice",
    ),
    path("status/", twilio_views.twilio_status, name="twilio-status"),
]
