"""The ``mixcore`` command line. Each command lives in ``cmd_<name>.py``."""
