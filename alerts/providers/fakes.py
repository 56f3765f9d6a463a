"""Both fake providers in a process of their own, for benchmarks: `python -m
alerts.providers.fakes` (so the fakes do not share the sender's GIL)."""

from __future__ import annotations

import json
import sys

from alerts.providers.line.fake import FakeLine
from alerts.providers.twilio.fake import FakeTwilio, max_rate


def main() -> None:
    """Serve both fakes from this process: `python -m alerts.providers.fakes`. Prints one
    JSON line with their URLs, then serves until stdin closes; a line on stdin asks for the
    counts so far and starts counting afresh. `python -m alerts.providers.fakes rate <url>`
    measures max_rate."""
    if sys.argv[1:2] == ["rate"]:
        print(json.dumps({"rps": max_rate(sys.argv[2])}), flush=True)
        return
    twilio, line = FakeTwilio().start(), FakeLine().start()
    print(json.dumps({"twilio": twilio.url, "line": line.url}), flush=True)
    for _ in sys.stdin:
        counts = {
            "twilio_accepted": len(twilio.messages),
            "twilio_distinct": len(twilio.accepted()),
            "line_accepted": len(line.deliveries),
            "line_distinct": len(line.accepted()),
            "requests": twilio.requests + line.requests,
        }
        twilio.messages.clear()  # the rate probe's messages are not the fan-out's
        line.deliveries.clear()
        twilio.requests = line.requests = 0
        print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
