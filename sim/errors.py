"""Errors a user can cause and fix: each carries one line saying what, where and why."""

MAX_LINE = 1000  # characters of one error line; longer ones (a value pasted whole) are cut


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` as one printable line: whitespace runs become one space, other control characters are
    shown escaped (``\\x1b``), so a message can neither break into lines nor drive a terminal."""
    flat = " ".join(text.split())
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in flat)
    if len(shown) <= limit:
        return shown
    tail = limit // 3  # the end of a message says why: keep it
    return f"{shown[: limit - tail - 1]}…{shown[-tail:]}"


class InputError(Exception):
    """Bad input from a user (a file, a key, a value). The CLI prints it as one line and exits 2."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # always one line
        return one_line(self.message)
