"""A build as it was when the server loaded it: its files, whatever dist/ holds meanwhile.

The manifest, the store, the downloads and their ETags must come from one build. But dist/ is
replaced under a running server (``tipkg build`` renames a new directory into place and deletes
the old one), so a file opened by name after the load may belong to the next build: for up to a
second after each swap, downloads carried the previous build's ETag with the new build's body.

So each load starts by taking a :class:`Snapshot`: every file of dist/ hard-linked (or, across
file systems, copied) into a private directory, and the build is loaded from there. The server
answers everything from that directory, its query workers load the same one, and nothing later
done to dist/ reaches it. A hard link costs no data and shares the file's bytes, which holds
because a build's files are never rewritten in place: the build writes a new directory and
swaps it in. The tree is read relative to a descriptor of the dist/ directory opened first, so a
swap midway gives either build, never a mix; a tree swapped out while it was read (and so
perhaps deleted under the reader) is read again. Directories are linked file by file, so a
build that also holds a database directory is taken whole the same way.

A snapshot's directory is removed when nothing uses it any more: the loaded build that holds
it is replaced and every request answered from it has finished.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import weakref
from pathlib import Path

from tipkg.dist import MANIFEST_NAME
from tipkg.errors import InputError

# The private directories of running servers, beside dist/: .tipkg-serve.<pid>.<random>
PREFIX = ".tipkg-serve."
TAKE_ATTEMPTS = 3


class Snapshot:
    """One build's files in a directory of their own (see the module doc), and the
    fingerprint (:func:`file_stamp`) dist/'s manifest had when they were taken."""

    def __init__(self, path: Path, stamp: tuple[int, int, int]) -> None:
        self.path = path
        self.stamp = stamp
        self._remove = weakref.finalize(self, shutil.rmtree, path, ignore_errors=True)


class Snapshots:
    """Where one server keeps its snapshots: a directory beside dist/ (the same file system,
    so files can be linked), else one in the system's temporary directory (files copied).
    Directories left by servers that were killed are removed when the next one starts."""

    def __init__(self, dist_dir: Path) -> None:
        self.dist_dir = dist_dir
        _remove_abandoned(dist_dir.parent)
        try:
            root = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", dir=dist_dir.parent)
        except OSError:
            root = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.")
        self.root = Path(root)
        self._remove = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self._taken = 0

    def take(self) -> Snapshot:
        """The build now in dist/, as a snapshot; ``InputError`` when there is none to take.

        dist/ may be replaced while it is read. The old tree is then renamed away before it is
        deleted, so a tree still named dist/ once read was read whole; one that is not may have
        lost files under the reader, and is read again (twice at most) from the new dist/."""
        for _ in range(TAKE_ATTEMPTS):
            self._taken += 1
            target = self.root / str(self._taken)
            try:
                source = os.open(self.dist_dir, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                raise InputError("no build here: run `tipkg build` first", self.dist_dir) from None
            try:
                stamp = _source_stamp(source)
                _copy_tree(source, target)
                if _same_file(os.fstat(source), self.dist_dir):
                    return Snapshot(target, stamp)
            except OSError:
                pass  # deleted under the reader
            finally:
                os.close(source)
            shutil.rmtree(target, ignore_errors=True)
        raise InputError("dist/ kept changing while it was read", self.dist_dir)

    def close(self) -> None:
        self._remove()


def file_stamp(path: Path) -> tuple[int, int, int]:
    """(inode, mtime in ns, size) of a file; (0, 0, 0) when it is missing. A build swapped in
    has a new manifest file, so a new inode, even with the same time and size."""
    try:
        return _stamp_of(path.stat())
    except OSError:
        return (0, 0, 0)


def _stamp_of(status: os.stat_result) -> tuple[int, int, int]:
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def _same_file(status: os.stat_result, path: Path) -> bool:
    """Whether ``path`` still names the file or directory ``status`` describes."""
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (status.st_dev, status.st_ino)


def _source_stamp(source: int) -> tuple[int, int, int]:
    """The stamp of the manifest in the directory open as ``source`` (a build without one
    is refused when it is read, with the reason)."""
    try:
        return _stamp_of(os.stat(MANIFEST_NAME, dir_fd=source))
    except FileNotFoundError:
        return (0, 0, 0)


def _copy_tree(source: int, target: Path) -> None:
    """Link (or copy) every file under the directory open as ``source`` into ``target``."""
    target.mkdir()
    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            inner = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=source)
            try:
                _copy_tree(inner, target / entry.name)
            finally:
                os.close(inner)
        elif entry.is_file(follow_symlinks=False):
            try:
                os.link(entry.name, target / entry.name, src_dir_fd=source, follow_symlinks=False)
            except OSError:  # another file system, or links not allowed here
                _copy_file(source, entry.name, target / entry.name)


def _copy_file(source: int, name: str, target: Path) -> None:
    descriptor = os.open(name, os.O_RDONLY, dir_fd=source)
    with os.fdopen(descriptor, "rb") as reading, target.open("wb") as writing:
        shutil.copyfileobj(reading, writing)


def _remove_abandoned(folder: Path) -> None:
    """Remove snapshot directories whose server process is gone."""
    for candidate in folder.glob(PREFIX + "*"):
        pid = candidate.name.removeprefix(PREFIX).split(".")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(candidate.lstat().st_mode):
                shutil.rmtree(candidate, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
