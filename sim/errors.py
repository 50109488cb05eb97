"""Errors a user can cause and fix: each carries one line saying what, where and why."""


class InputError(Exception):
    """Bad input from a user (a file, a key, a value). The CLI prints it as one line and exits 2."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # always one line
        return " ".join(self.message.split())
