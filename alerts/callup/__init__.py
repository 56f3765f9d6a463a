"""Staff call-up (職員参集): the teams a staffing level names are messaged through the alert
transports, each with a personal link to answer (coming / cannot / arrived); the answers are
tracked on `/ops/callup/` and on the operations map (`callup.answered` events)."""
