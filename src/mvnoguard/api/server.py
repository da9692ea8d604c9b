"""The application as uvicorn's worker processes build it: settings from the environment.

``mvnoguard serve`` puts ``--home`` into ``MVNOGUARD_HOME`` before starting uvicorn, so each
worker builds the same :class:`Runtime` from :class:`Settings`.
"""

from __future__ import annotations

from fastapi import FastAPI

from mvnoguard.api.app import create_app
from mvnoguard.config import Settings
from mvnoguard.runtime import Runtime

FACTORY = "mvnoguard.api.server:app_from_environment"


def app_from_environment() -> FastAPI:
    return create_app(Runtime(Settings()))
