from __future__ import annotations

from django.contrib import admin

from scheduling.models import Member, Team, TeamMembership


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["member"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "time_zone"]
    search_fields = ["slug", "name"]
    inlines = [TeamMembershipInline]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "phone", "time_zone", "active"]
    list_filter = ["active"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
