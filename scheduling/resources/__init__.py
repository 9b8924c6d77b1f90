"""The configuration resources of the REST API: teams and their members, members,
rotations (with ``preview``), and shifts (read-only).

Each module is one resource's views: parse the input with a serializer, check
access (``scheduling.access``), call one service (``scheduling.teams``,
``members``, ``rotations``), answer with an output serializer.  ``common.py``
holds what they share: turning a service's ``ValidationError`` into the API's
400, cursor pagination, and the filter for instants that refuses naive times.
"""
