#!/usr/bin/env python
"""The baseline projects' manage.py (migrate, shell), run with bench/.peer-venv's Python."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
