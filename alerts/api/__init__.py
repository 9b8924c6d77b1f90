"""The REST API for incidents (``/api/v1/incidents/...``): views and serializers."""
