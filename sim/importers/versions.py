"""Which release tags are releases: the rule the default tag globs apply (docs/import.md, "git").

A tag found by the default globs (``v[0-9]*`` and ``[0-9]*``) is a deployment only when its name,
after an optional ``v``, is a release version number:

- release: dot-separated numbers (``1``, ``1.2.3``, ``2024.05.1``), optionally a PEP 440 post
  release (``1.0.post1``, ``1.0-post2``) and build metadata (``1.0.0+build.7``) — post releases
  are releases;
- pre-release (skipped): a PEP 440 pre-release or development marker (``a``, ``alpha``, ``b``,
  ``beta``, ``c``, ``rc``, ``pre``, ``preview``, ``dev``: ``8.0.0rc1``, ``1.2.dev0``,
  ``2.0.0b3``) or a semver pre-release suffix (anything after ``-``: ``1.0.0-rc.1``, ``2.0-beta``);
- anything else (``1.x``, ``3.0.x``, ``stable``) is not a version number and is skipped.
"""

from __future__ import annotations

import re

_NUMBERS = r"v?\d+(?:\.\d+)*"
_POST = r"(?:[._-]?post\d*)"
_RELEASE = re.compile(rf"{_NUMBERS}{_POST}?(?:\+[0-9A-Za-z.-]+)?", re.IGNORECASE)
_PRE_RELEASE = re.compile(
    rf"{_NUMBERS}{_POST}?(?:[._-]?(?:alpha|a|beta|b|c|rc|preview|pre|dev)\d*(?:[._+-].*)?|-.+)", re.IGNORECASE
)

PRE_RELEASE = "a pre-release (PEP 440 a/b/rc/dev or a semver -suffix)"
NOT_A_VERSION = "not a version number"


def release_skip_reason(name: str) -> str | None:
    """None when ``name`` is a release version; else why the default globs skip it."""
    if _RELEASE.fullmatch(name):
        return None
    if _PRE_RELEASE.fullmatch(name):
        return PRE_RELEASE
    return NOT_A_VERSION
