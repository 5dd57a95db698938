"""Ward-office windows: live queues, "tell me when my number is near", and the public status page.

- **Data in** (:mod:`services.queue.ingest`): ticketing machines post events to
  ``POST /api/v1/queues/{office_id}/events`` (:mod:`services.queue.api`), or a
  :class:`~services.queue.source.QueueSource` adapter is polled (NovoSGA:
  :mod:`services.queue.novosga`). Every event is stored once (idempotent by office, type, ticket
  and time) and updates the live state in SQL (:mod:`services.queue.store`).
- **Live state** per office and window: waiting, the number being called, the expected wait from
  recent throughput (:mod:`services.queue.estimate`); data older than ``stale_after_seconds`` is
  reported as unavailable, never guessed. Offices, windows and hours come from the city profile's
  ``queues`` section (:mod:`services.queue.offices`).
- **Bot** (:mod:`services.queue.skill`, :mod:`services.queue.effects`): ``check_congestion`` answers
  live; ``subscribe_queue_notice`` is a form (office, ticket number) whose subscription is created by
  an effect; notices "N ahead" and "called" go through the core's notification service
  (:mod:`services.queue.notices`).
- **Ticket QR codes** (:mod:`services.queue.tickets`): a signed URL that opens the chat with the
  subscription filled in.
"""
