"""A crash in one line: what a backend, a layer worker or a traced function raised."""

import re

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def crash_text(error):
    """'Type: message' in one line, the same in eager and traced modes.

    Wrappers are peeled off: tf.function re-raises with "in user code:" and a traceback
    first (the original message is its last line); Keras layers re-raise with "Exception
    encountered when calling layer ..." first (the original message follows it).
    """
    name = type(error).__name__
    text = _ANSI_ESCAPE.sub("", str(error))  # Keras 3 colours its messages
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return name
    message = lines[0]
    if lines[0] == "in user code:":
        message = lines[-1]
    elif lines[0].startswith("Exception encountered when calling") and len(lines) > 1:
        message = lines[1]
    return message if message.startswith(f"{name}: ") else f"{name}: {message}"
