"""The coordinator's pages: staff and qualifications, allocation and reallocation."""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    return APIRouter()
