"""Paging: getting a page to a person, and what comes back.

``messages.py`` (the SMS text and the words of a call), ``segments.py`` (fitting a
text into its SMS segment budget, GSM-7 or UCS-2), ``gsm7.py`` (the GSM-7
alphabet), ``numbers.py`` (whom to call on which number),
``send.py`` (claim, send through ``alerts.transports``, record the outcome),
``claims.py`` (the sweep's claim on due pages), ``limits.py`` (storm protection),
``bundles.py`` (held pages sent as one SMS, held calls as one call),
``status.py`` (Twilio's delivery status callbacks), ``contacts.py`` (a member's
numbers: add, change, remove), ``replies.py`` and ``commands.py`` (SMS replies
and call keypresses that acknowledge, escalate or resolve), ``callback_urls.py``
(the URLs given to Twilio).

Calls down into ``alerts.incidents`` and ``alerts.escalation``.
"""
