"""The one exception the command line turns into a single clear line and a non-zero exit."""


class JitterEdgeError(Exception):
    """A problem with the user's input or environment (bad file, missing folder, wrong model)."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line reports."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
