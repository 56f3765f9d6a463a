"""Warnings from JMA (DESIGN decision 14): 防災情報XML telegrams polled from JMA's Atom feeds,
validated against JMA's schema, kept raw and parsed, and the city's warnings in force derived
from them — relayed in JMA's words, never rewritten into a forecast of our own (気象業務法).

`feed` polls, `schema` validates, `parsing` reads a telegram, `services.ingest` stores it and
recomputes what is in force (`state`), `api` serves the public list and the staff timeline.
What the city does about a telegram (suggested actions, drafted alerts) lives above, in
`alerts.authoring.suggestions`: this package only says what JMA said.
"""
