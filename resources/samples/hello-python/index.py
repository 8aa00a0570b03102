"""Sample function: greets whoever the event names.

The event arrives as bytes; whatever the handler returns (str or bytes) is the result.
"""


def handler(event, context):
    name = event.decode("utf-8").strip() if event else "world"
    return f"hello, {name}!"
