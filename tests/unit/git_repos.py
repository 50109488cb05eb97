"""Throw-away git repositories for the importer's tests, built with git itself in a temporary folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


class Repo:
    """A throw-away repository whose commits and tags carry the dates we choose."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.counter = 0

    def git(self, *args: str, date: str | None = None, author_date: str | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "A",
            "GIT_AUTHOR_EMAIL": "a@example.com",
            "GIT_COMMITTER_NAME": "C",
            "GIT_COMMITTER_EMAIL": "c@example.com",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.path),
        }
        if date:
            env["GIT_COMMITTER_DATE"] = date
            env["GIT_AUTHOR_DATE"] = author_date or date
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, message: str, date: str, author_date: str | None = None) -> str:
        self.counter += 1
        (self.path / f"file{self.counter}.txt").write_text(message)
        self.git("add", ".")
        self.git("commit", "-q", "-m", message, date=date, author_date=author_date)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, date: str) -> str:
        self.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch, date=date)
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, target: str = "HEAD", annotated_at: str | None = None) -> None:
        if annotated_at:
            self.git("tag", "-a", name, "-m", name, target, date=annotated_at)
        else:
            self.git("tag", name, target)

    def raw_commit(
        self,
        tree_of: str,
        parents: list[str],
        author: bytes,
        committer: bytes,
        message: bytes,
        extra_headers: bytes = b"",
    ) -> str:
        """A commit object written byte for byte (git commit refuses broken lines), then set as main."""
        tree = self.git("rev-parse", f"{tree_of}^{{tree}}")
        body = (
            f"tree {tree}\n".encode()
            + b"".join(f"parent {p}\n".encode() for p in parents)
            + b"author "
            + author
            + b"\ncommitter "
            + committer
            + b"\n"
            + extra_headers
            + b"\n"
            + message
        )
        sha = (
            subprocess.run(
                ["git", "-C", str(self.path), "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
                input=body,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        self.git("update-ref", "refs/heads/main", sha)
        return sha
