"""Defaults of the settings that the command line's help shows, apart from `config` so
that the command line can show its first line before pydantic-settings has loaded."""

HOST = "127.0.0.1"
PORT = 8000
DATA_DIR = ".blackboard"
WORKERS = 1
