"""提案 (proposals): the whole 提、立、交、办、督、评 lifecycle, one module per part.

- `common`: what every part shares: the refusal, history rows, who the proposers are, notices to
  proposers, to a unit's contacts and to the secretariat, the names of states and steps.
- `submission` (提, 联名, 评): submit, co-proposers' answers, resubmit, the member's own list, ratings.
- `filing` (立, 交, 督 by the secretariat): the filing review moves, assignment, re-assignment,
  key proposals, nudges, extension decisions, 重办, 优秀.
- `handling` (办 by the units, 督 reminders): sign, object, record the contact, 协办 opinions,
  answers, extension requests; the deadline reminders and overdue notices.
- `units`: handling units (import, list, invites).
- `figures`: counts for `lvzhi annual`, the digest and the export (SQL aggregates).

The tables and their states: models/proposal.py. No Telegram here.
"""
