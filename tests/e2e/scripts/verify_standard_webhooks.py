"""Verifies forwarded credits with the official Standard Webhooks library (PyPI
`standardwebhooks`), as a merchant's receiving application would.

Reads JSON on stdin: {"secret": "whsec_...", "deliveries": [{"headers": {...}, "body": "..."}]}.
Every delivery must verify and parse to the body sent; the same delivery with its body changed
by one character, or checked under another secret, must be refused. Prints "verified N".
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

request = json.load(sys.stdin)
webhook = Webhook(request["secret"])
other = Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
deliveries = request["deliveries"]
for delivery in deliveries:
    headers, body = delivery["headers"], delivery["body"]
    payload = webhook.verify(body, headers)
    assert payload == json.loads(body), payload
    tampered = body.replace('"', "'", 1)
    for attempt in (lambda: webhook.verify(tampered, headers), lambda: other.verify(body, headers)):
        try:
            attempt()
        except WebhookVerificationError:
            pass
        else:
            sys.exit(f"a forged delivery verified: {delivery}")
print(f"verified {len(deliveries)}")
