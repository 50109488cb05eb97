"""A live GitHub or GitLab import: the files fetched list by list into memory, read like saved ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.importers.files import MemorySource, id_value, object_value
from sim.importers.http import Client, dump


class Fetch:
    """The files of one live import, fetched list by list into memory (saved later by the CLI)."""

    def __init__(self, client: Client, base: str):
        self.client, self.base = client, base
        self.files: dict[str, bytes] = {}

    def save(
        self,
        relative: str,
        path: str,
        params: dict[str, Any] | None = None,
        what: str = "items",
        key: str | None = None,
    ) -> list[dict[str, Any]]:
        items = self.client.get_all(f"{self.base}/{path}", params, what, key)
        self.files[relative] = dump(items, relative)
        return items

    def each(
        self,
        items: list[dict[str, Any]],
        key: str,
        relative: str,
        path: str,
        what: str,
        keep: Callable[[dict[str, Any]], bool] = lambda item: True,
        list_key: str | None = None,
    ) -> None:
        """For each item, save the list ``path`` (``{id}`` = the item's numeric ``key``) under ``relative``."""
        for position, item in enumerate(items):
            if not keep(item):
                continue
            number = id_value(item.get(key), f"{self.client.base_url}/{self.base} {what} {position}", key)
            self.save(relative.format(id=number), path.format(id=number), what=what, key=list_key)


def fetch_deployments(
    fetch: Fetch, deployments_from: str, deployments: Callable[[], object], releases: Callable[[], object]
) -> None:
    """Fetch the Deployments, and the Releases when asked to or when there are no Deployments (``auto``)."""
    if deployments_from != "releases":
        deployments()
    if deployments_from == "releases" or (
        deployments_from == "auto" and not fetch.files.get("deployments.json", b"[]").strip(b"[] \n")
    ):
        releases()
        if deployments_from == "auto":
            fetch.files.pop("deployments.json", None)  # empty: the releases stand in


def check_object(value: Any, where: str, what: str) -> dict[str, Any]:
    found = object_value(value, where, what)
    return found if found is not None else {}


def memory(fetch: Fetch, api_url: str) -> MemorySource:
    return MemorySource(fetch.files, f"{api_url.rstrip('/')}/{fetch.base}")
