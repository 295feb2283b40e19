"""Every third-party base image is one deploy/images/pin.py knows, so pinning them all by digest
is one command where a registry answers (this machine reaches none: deploy/images/PINNING.md).
The rewrite is checked on copies of the real files with a well-formed digest."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("pin", ROOT / "deploy" / "images" / "pin.py")
assert _spec is not None and _spec.loader is not None
pin = importlib.util.module_from_spec(_spec)
sys.modules["pin"] = pin  # its dataclass looks its module up there
_spec.loader.exec_module(pin)
DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_every_base_image_is_one_the_pinning_script_knows():
    known = {reference for _, reference in pin.references()}
    dockerfile = (ROOT / "deploy" / "images" / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))
    for base in re.findall(r"^FROM (\S+)", dockerfile, re.M):
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        assert base in known, base
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if image and not image.startswith("mend-"):
            assert image in known, name


def test_references_parse_as_the_registry_names_them():
    python = pin.Ref.parse("python:3.11-slim")
    assert (python.registry, python.repository, python.tag) == (
        "registry-1.docker.io",
        "library/python",
        "3.11-slim",
    )
    assert pin.Ref.parse("apache/kafka:4.3.1").repository == "apache/kafka"
    other = pin.Ref.parse("ghcr.io/org/img:1@" + DIGEST)
    assert other.registry == "ghcr.io" and other.pinned
    assert not pin.Ref.parse("postgres:15").pinned


def test_pinning_keeps_the_tag_and_adds_the_digest():
    for file, reference in pin.references():
        text = (ROOT / file).read_text()
        pinned = pin.pin(text, reference, DIGEST)
        assert f"{reference}@{DIGEST}" in pinned, file
        assert pinned.count(DIGEST) == 1
    with pytest.raises(ValueError):
        pin.pin("image: postgres:15\n", "postgres:15", "sha256:not-a-digest")
