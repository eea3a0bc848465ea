"""User-caused problems → one line on stderr and exit code 2."""


class UserError(Exception):
    """A problem the user can fix: bad input, bad config, unreachable server.

    The message is one line that names the file (and the row or key) at fault.
    The CLI prints it without a traceback and exits with code 2.
    """
