"""Pin the third-party base images by digest: the Python base of deploy/images/Dockerfile and
the broker and database images of docker-compose.yml (deploy/images/PINNING.md says why and
when). Needs a registry: run it where Docker Hub answers; this repository's CI does not.

    python deploy/images/pin.py           # each reference and whether it is pinned
    python deploy/images/pin.py --check   # exit 1 while any is a bare tag
    python deploy/images/pin.py --write   # ask the registry for each tag's digest, pin it

A pinned reference keeps its tag for the reader: `python:3.11-slim@sha256:<digest>` (the
digest decides what is pulled; the tag only says what it was). The digest is the one the
registry serves for the tag, the multi-platform index where there is one. Standard library
only, so it runs before any install."""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where each base image is named: file, and the pattern whose group 1 is the reference.
PLACES = (
    ("deploy/images/Dockerfile", re.compile(r"^ARG PYTHON_IMAGE=(\S+)$", re.M)),
    ("docker-compose.yml", re.compile(r"^    image: ((?!mend-)\S+)$", re.M)),
)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass(frozen=True)
class Ref:
    """An image reference: registry, repository, tag and (when pinned) digest."""

    registry: str
    repository: str
    tag: str
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> Ref:
        name, _, digest = text.partition("@")
        first = name.split("/", 1)[0]
        if "/" in name and ("." in first or ":" in first or first == "localhost"):
            registry, rest = name.split("/", 1)
        else:
            registry, rest = "registry-1.docker.io", name
            if "/" not in rest:
                rest = f"library/{rest}"  # Docker Hub's official images
        repository, _, tag = rest.partition(":")
        return cls(registry, repository, tag or "latest", digest or None)

    @property
    def pinned(self) -> bool:
        return self.digest is not None and DIGEST.match(self.digest) is not None


def references() -> list[tuple[str, str]]:
    """(file, reference) for every base image the repository names."""
    found = []
    for file, pattern in PLACES:
        found += [(file, m.group(1)) for m in pattern.finditer((ROOT / file).read_text())]
    return found


def pin(text: str, reference: str, digest: str) -> str:
    """`text` with `reference` (a bare tag) pinned to `digest`, keeping the tag."""
    if not DIGEST.match(digest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    bare = reference.partition("@")[0]
    return re.sub(rf"(?<=[=\s]){re.escape(reference)}$", f"{bare}@{digest}", text, flags=re.M)


def _get(url: str, headers: dict[str, str], method: str = "GET") -> urllib.request.Request:
    return urllib.request.Request(url, headers=headers, method=method)


def registry_digest(ref: Ref) -> str:
    """The digest the registry serves for `ref`'s tag (anonymous pull token when asked)."""
    url = f"https://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag}"
    headers = {"Accept": ACCEPT}
    try:
        with urllib.request.urlopen(_get(url, headers, "HEAD"), timeout=30) as answer:
            return answer.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as exc:
        if exc.code != 401:
            raise
        challenge = exc.headers.get("WWW-Authenticate", "")
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    query = "&".join(f"{k}={params[k]}" for k in ("service", "scope") if k in params)
    token_url = f"{params['realm']}?{query or f'scope=repository:{ref.repository}:pull'}"
    with urllib.request.urlopen(token_url, timeout=30) as answer:
        body = json.load(answer)
    headers["Authorization"] = f"Bearer {body.get('token') or body['access_token']}"
    with urllib.request.urlopen(_get(url, headers, "HEAD"), timeout=30) as answer:
        return answer.headers["Docker-Content-Digest"]


def write(resolve: Callable[[Ref], str] = registry_digest) -> list[str]:
    """Pin every bare reference in place; returns what changed, as `file: old -> new`."""
    changed = []
    for file, reference in references():
        ref = Ref.parse(reference)
        if ref.pinned:
            continue
        digest = resolve(ref)
        path = ROOT / file
        path.write_text(pin(path.read_text(), reference, digest))
        changed.append(f"{file}: {reference} -> {reference}@{digest}")
    return changed


def main(argv: list[str]) -> int:
    if "--write" in argv:
        for line in write():
            print(line)
        return 0
    unpinned = 0
    for file, reference in references():
        pinned = Ref.parse(reference).pinned
        unpinned += not pinned
        print(f"{'pinned  ' if pinned else 'TAG ONLY'}  {file}: {reference}")
    return 1 if unpinned and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
