"""Pages of our own for engineers, who are not admin staff: a handoff note, read
and written on a phone (Django templates, no JavaScript).  Reached by logging in
or through a signed single-use link; ``views.py`` parses, checks access and calls
``alerts.handoff``."""
