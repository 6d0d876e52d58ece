"""The one base class for problems with what a user gave (a flag, a file, a folder, a request).

Its message names the argument or file and says what to do. The command line prints it as one
``Error:`` line with exit code 2; any other exception is a bug and keeps its traceback, so a
programming error never passes for a user error.
"""


class UserInputError(ValueError):
    """What the user asked for cannot be done as asked; the message says why and what to do."""
