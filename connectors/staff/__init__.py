"""The staff console: login, the handoff queue, three-way rooms and their JSON API."""
