"""Twilio's webhooks: inbound SMS, the voice call script, delivery status.

Every one checks ``X-Twilio-Signature`` first (403 and no change on mismatch), then
parses Twilio's form and calls a service.  TwiML is written by hand here: it is a
handful of fixed elements, and only the transport module imports the Twilio SDK.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alerts.models import Page, PageBundle
from alerts.paging.bundles import (
    bundle_incidents,
    bundle_repeats,
    bundle_status_update,
)
from alerts.paging.callback_urls import bundle_voice_url, voice_url
from alerts.paging.messages import bundle_voice_text, page_voice_text
from alerts.paging.replies import bundle_keypress, sms_reply, voice_keypress
from alerts.paging.status import page_status_update
from alerts.transports.twilio_signature import twilio_request_is_valid

logger = logging.getLogger(__name__)

VOICE = {"voice": "alice", "language": "en-US"}
MENU = "Press 1 to acknowledge, 2 to escalate, 3 to resolve, or star to repeat."


def _twiml(*elements: str) -> HttpResponse:
    body = '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(elements)
    return HttpResponse(body + "</Response>", content_type="text/xml")


def _say(text: str) -> str:
    return f"<Say voice={quoteattr(VOICE['voice'])}>{escape(text)}</Say>"


def _id(raw: str) -> int | None:
    """A row id from a query parameter we put in the callback URL ourselves, or
    None.  ``str.isdigit`` is not enough: it is true for "²" and "٣", which
    ``int`` refuses or reads as another number."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def _forbidden() -> JsonResponse:
    return JsonResponse(
        {
            "error": "forbidden",
            "detail": "missing or invalid X-Twilio-Signature: this request does "
            "not come from Twilio, or PUBLIC_BASE_URL does not match the URL "
            "configured in the Twilio console",
        },
        status=403,
    )


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    if not twilio_request_is_valid(request):
        return _forbidden()
    reply = sms_reply(
        from_number=request.POST.get("From", ""), body=request.POST.get("Body", "")
    )
    return _twiml(f"<Message>{escape(reply.text)}</Message>")


def _gather(page: Page, intro: str) -> HttpResponse:
    url = voice_url(page)
    return _twiml(
        f'<Gather numDigits="1" timeout="8" method="POST" action={quoteattr(url)}>',
        _say(intro) if intro else "",
        _say(MENU),
        "</Gather>",
        f'<Redirect method="POST">{escape(url)}?noinput=1</Redirect>',
    )


@csrf_exempt
@require_POST
def twilio_voice(request: HttpRequest, page_id: int) -> HttpResponse:
    if not twilio_request_is_valid(request):
        return _forbidden()
    page = (
        Page.objects.select_related("incident__team", "member__user")
        .filter(pk=page_id, channel=Page.Channel.VOICE)
        .first()
    )
    call_sid = request.POST.get("CallSid", "")
    if page is None or (page.provider_id and call_sid != page.provider_id):
        return _twiml(
            _say("This call is not about a current page. Goodbye."), "<Hangup/>"
        )
    answered_by = request.POST.get("AnsweredBy", "")
    if answered_by.startswith(("machine", "fax")):
        page_status_update(
            page=page,
            provider_id=call_sid,
            status="in-progress",
            answered_by=answered_by,
        )
        return _twiml(
            _say(page_voice_text(page.incident) + " Reply by SMS to act on it."),
            "<Hangup/>",
        )
    digits = request.POST.get("Digits", "")
    if request.GET.get("noinput"):
        page_status_update(page=page, provider_id=call_sid, status="completed")
        return _twiml(
            _say("No key pressed. The next person will be paged. Goodbye."),
            "<Hangup/>",
        )
    if digits:
        text, done = voice_keypress(page=page, digit=digits[:1])
        if done:
            return _twiml(_say(text + " Goodbye."), "<Hangup/>")
        if digits != "*":
            return _gather(page, "Sorry, that is not a choice.")
        return _gather(page, page_voice_text(page.incident))
    # The person picked up: the call is delivered (not yet answered).
    page_status_update(page=page, provider_id=call_sid, status="in-progress")
    return _gather(page, page_voice_text(page.incident))


BUNDLE_MENU = (
    "Press 1 to acknowledge all {count}, 2 to escalate all, 3 to resolve all, "
    "or star to repeat."
)


def _bundle_gather(bundle: PageBundle, intro: str, count: int) -> HttpResponse:
    url = bundle_voice_url(bundle)
    return _twiml(
        f'<Gather numDigits="1" timeout="8" method="POST" action={quoteattr(url)}>',
        _say(intro) if intro else "",
        _say(BUNDLE_MENU.format(count=count)),
        "</Gather>",
        f'<Redirect method="POST">{escape(url)}?noinput=1</Redirect>',
    )


@csrf_exempt
@require_POST
def twilio_bundle_voice(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """The call of a storm's bundle: how many incidents, which; 1 acknowledges all."""
    if not twilio_request_is_valid(request):
        return _forbidden()
    bundle = PageBundle.objects.filter(
        pk=bundle_id, channel=PageBundle.Channel.VOICE
    ).first()
    call_sid = request.POST.get("CallSid", "")
    if bundle is None or (bundle.provider_id and call_sid != bundle.provider_id):
        return _twiml(
            _say("This call is not about a current page. Goodbye."), "<Hangup/>"
        )
    incidents = bundle_incidents(bundle=bundle)
    if not incidents:
        return _twiml(
            _say("These incidents were all handled meanwhile. Goodbye."), "<Hangup/>"
        )
    repeats = bundle_repeats(bundle=bundle, incident_ids=[i.pk for i in incidents])
    words = bundle_voice_text(incidents, repeats=repeats)
    if request.POST.get("AnsweredBy", "").startswith(("machine", "fax")):
        bundle_status_update(bundle=bundle, status="no-answer")
        return _twiml(
            _say(words + " Nobody answered: the next step is paged. Goodbye."),
            "<Hangup/>",
        )
    if request.GET.get("noinput"):
        bundle_status_update(bundle=bundle, status="completed")
        return _twiml(
            _say("No key pressed. The next person will be paged. Goodbye."),
            "<Hangup/>",
        )
    digits = request.POST.get("Digits", "")
    if digits:
        text, done = bundle_keypress(bundle=bundle, digit=digits[:1])
        if done:
            return _twiml(_say(text + " Goodbye."), "<Hangup/>")
        intro = words if digits == "*" else "Sorry, that is not a choice."
        return _bundle_gather(bundle, intro, len(incidents))
    bundle_status_update(bundle=bundle, status="in-progress")
    return _bundle_gather(bundle, words, len(incidents))


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Delivery status of an SMS or a call.  Always 200 for a signed request, even
    for an id we do not know: Twilio would otherwise retry it for hours."""
    if not twilio_request_is_valid(request):
        return _forbidden()
    post = request.POST
    sid = post.get("MessageSid") or post.get("CallSid") or ""
    status = (
        post.get("MessageStatus")
        or post.get("SmsStatus")
        or post.get("CallStatus")
        or ""
    ).lower()
    error_code = post.get("ErrorCode", "")
    bundle_id = _id(request.GET.get("bundle", ""))
    if bundle_id is not None:
        bundle = PageBundle.objects.filter(pk=bundle_id).first()
        if bundle is not None and bundle.provider_id in ("", sid):
            bundle_status_update(bundle=bundle, status=status)
        return HttpResponse(status=200)
    page = None
    if sid:
        page = (
            Page.objects.select_related("incident", "member__user")
            .filter(provider_id=sid)
            .first()
        )
    page_id = _id(request.GET.get("page", ""))
    if page is None and page_id is not None:
        page = (
            Page.objects.select_related("incident", "member__user")
            .filter(pk=page_id, provider_id="")
            .first()
        )
    if page is None:
        logger.info("status callback for unknown sid %s (%s)", sid, status)
        return HttpResponse(status=200)
    page_status_update(
        page=page,
        provider_id=sid,
        status=status,
        error_code=error_code,
        answered_by=post.get("AnsweredBy", ""),
    )
    return HttpResponse(status=200)
