"""The endpoints other systems call: Alertmanager (``alertmanager.py``) and Twilio
(``twilio.py``: inbound SMS, the voice menu, status callbacks).  Thin: parse,
check the token or signature, call a service, answer."""
