"""The one exception the command line turns into a single clear line and a non-zero exit."""


class JitterEdgeError(Exception):
    """A problem with the user's input or environment (bad file, missing folder, wrong model)."""
