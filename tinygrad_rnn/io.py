"""Checkpoints: `save(state_dict, path)` / `load(path)`, as `.npz` files that cannot run code.

The file is a zip of `.npy` arrays, one per entry, readable with `np.load`:

- A flat dict of arrays (a module's `state_dict()`) is stored as it is, one array per key.
- Anything else (an optimizer's state dict, a dict holding both) is flattened: every array
  is stored under its dotted path (`"optimizer.state.0.exp_avg"`), and one extra entry,
  `__layout__`, holds the structure as JSON text: the dicts (with their int or str keys),
  lists and tuples, and the Python numbers, bools, strings and None kept inline. `load`
  rebuilds the same structure. Tensors are stored as their arrays; numpy scalars come back
  as 0-d arrays.

Writing is atomic: the data goes to a temporary file in the target's directory, is flushed
and synced to disk, then renamed over the target, so a crash leaves the old file or the
new one, complete (at worst a stray `.<name>.*.tmp` file). Reading never unpickles:
object arrays are refused before their data is read.

>>> tr.save(model.state_dict(), "model.npz")
>>> model.load_state_dict(tr.load("model.npz"))
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .autograd.node import Node
from .errors import CheckpointNotFoundError, SerializationError

LAYOUT_KEY = "__layout__"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
_INLINE = (bool, int, float, str, type(None))
# What zipfile and numpy raise on damaged bytes (bad offsets, flags, CRCs, headers).
_DAMAGE = (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError)

PathLike = str | os.PathLike


def save(state: Mapping[Any, Any], path: PathLike) -> None:
    """Write `state` (a dict of arrays, possibly nested) to `path` as an `.npz`, atomically.

    Values may be ndarrays, Tensors, numpy scalars, nested dicts (str or int keys), lists,
    tuples, and Python numbers, bools, strings or None. Object arrays are refused. The path
    is used as given (no suffix is added).

    >>> tr.save({"weight": np.ones((2, 3))}, "weights.npz")
    """
    if not isinstance(state, Mapping):
        raise SerializationError(f"save: expected a dict (a state dict), got {type(state).__name__}")
    arrays: dict[str, np.ndarray] = {}
    layout = _flatten(state, (), arrays)
    flat = all(type(k) is str for k in state) and all(
        isinstance(v, (np.ndarray, np.generic, Node)) for v in state.values())
    if LAYOUT_KEY in arrays:
        raise SerializationError(f"save: the key {LAYOUT_KEY!r} is reserved for the file's structure")
    if not flat:
        arrays[LAYOUT_KEY] = np.array(json.dumps(layout))
    _write_atomically(os.fspath(path), arrays)


def load(path: PathLike) -> dict[Any, Any]:
    """Read a file written by `save` (or any `.npz` of plain arrays) without unpickling anything.

    Returns the dict that was saved, with arrays as ndarrays. Raises `CheckpointNotFoundError`
    (a `SerializationError` and a `FileNotFoundError`) for a missing path, and
    `SerializationError` for a file that is empty, truncated, corrupt, not an npz, or that
    holds object (pickled) arrays.

    >>> state = tr.load("weights.npz")
    >>> state["weight"].shape
    (2, 3)
    """
    path = os.fspath(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except FileNotFoundError:
        raise CheckpointNotFoundError(
            f"load: no file at {path!r} (working directory {os.getcwd()!r}); check the path, "
            f"or save a checkpoint there first"
        ) from None
    except IsADirectoryError:
        raise SerializationError(f"load: {path!r} is a directory, not a checkpoint file") from None
    with file:
        _check_zip_magic(path, file.read(4))
        file.seek(0)
        try:
            archive = zipfile.ZipFile(file)
        except _DAMAGE as error:
            raise SerializationError(
                f"load: {path!r} is truncated or corrupt ({error}): its zip directory cannot "
                f"be read; the file was probably cut short while being copied or written"
            ) from None
        with archive:
            arrays = {name: array for name, array in _read_members(path, archive)}
    layout_text = arrays.pop(LAYOUT_KEY, None)
    if layout_text is None:
        return arrays
    return _rebuild_from_layout(path, layout_text, arrays)


# -- writing --------------------------------------------------------------------------------------

def _flatten(value: Any, where: tuple[str, ...], arrays: dict[str, np.ndarray]) -> Any:
    """Collect the arrays of `value` under dotted names and return its JSON layout."""
    if isinstance(value, Mapping):
        entries = []
        for key, item in value.items():
            if type(key) not in (str, int):
                raise SerializationError(
                    f"save: key {key!r} at {_dotted(where)} is a {type(key).__name__}; dict keys "
                    f"must be str or int"
                )
            entries.append([type(key).__name__, key, _flatten(item, (*where, str(key)), arrays)])
        return {"dict": entries}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_flatten(item, (*where, str(i)), arrays) for i, item in enumerate(value)]}
    if isinstance(value, Node):
        value = np.asarray(value.data)
    if isinstance(value, (np.ndarray, np.generic)):  # before _INLINE: np.float64 is a float
        array = np.asarray(value)
        name = _dotted(where)
        if array.dtype.hasobject:
            raise SerializationError(
                f"save: {name!r} is an array of dtype {array.dtype} (Python objects); only "
                f"numeric, bool and string arrays can be saved, since loading never unpickles"
            )
        if name in arrays:
            raise SerializationError(f"save: two entries are both stored under the name {name!r}")
        arrays[name] = array
        return {"array": name}
    if isinstance(value, _INLINE):
        return {"value": value}
    raise SerializationError(
        f"save: {_dotted(where)!r} is a {type(value).__name__}; values must be arrays, Tensors, "
        f"numbers, bools, strings, None, or dicts, lists and tuples of them"
    )


def _dotted(where: tuple[str, ...]) -> str:
    return ".".join(where) if where else "<top level>"


def _write_atomically(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory {directory!r} for {path!r} does not exist; "
                                f"create it first (os.makedirs)")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 gives the file the permissions of any new file (umask applied).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, array in arrays.items():
                    with archive.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -- reading --------------------------------------------------------------------------------------

def _check_zip_magic(path: str, head: bytes) -> None:
    if head in _ZIP_MAGICS:
        return
    if not head:
        raise SerializationError(f"load: {path!r} is empty (0 bytes); the save that wrote it never "
                                 f"finished")
    if head.startswith(b"\x93NUM"):
        kind = "a single .npy array, not an .npz of named arrays; save a dict with tr.save"
    elif head[:1] == b"\x80":
        kind = "a Python pickle (e.g. from torch.save or pickle.dump), which is never loaded"
    else:
        kind = f"not an .npz (zip) file: it starts with bytes {head!r}"
    raise SerializationError(f"load: {path!r} is {kind}")


def _read_members(path: str, archive: zipfile.ZipFile) -> Any:
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise SerializationError(
                f"load: {path!r} contains {info.filename!r}, which is not a .npy array; this is "
                f"not a checkpoint written by tinygrad_rnn or numpy"
            )
        name = info.filename[: -len(".npy")]
        try:
            with archive.open(info) as member:
                dtype = _declared_dtype(member)
            if dtype is None or not dtype.hasobject:
                with archive.open(info) as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
        except _DAMAGE as error:
            raise SerializationError(
                f"load: {path!r} is truncated or corrupt: array {name!r} cannot be read ({error})"
            ) from None
        if dtype is not None and dtype.hasobject:
            raise SerializationError(
                f"load: {path!r} holds {name!r}, an array of Python objects (dtype {dtype}); loading "
                f"it would unpickle and could run code, so it is refused. Re-save the data as "
                f"numeric arrays if you trust the file"
            )
        yield name, array


def _declared_dtype(member: Any) -> np.dtype | None:
    """The dtype an .npy header declares, read before any of the array's data.

    None for format 3.0 headers, whose object arrays `read_array` refuses by itself.
    """
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)[2]
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(member)[2]
    return None


def _rebuild_from_layout(path: str, layout_text: np.ndarray, arrays: dict[str, np.ndarray]) -> Any:
    used: set[str] = set()

    def build(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"unexpected layout node {node!r}")
        (kind, content), = node.items()
        if kind == "value":
            return content
        if kind == "array":
            used.add(content)
            return arrays[content]
        if kind in ("list", "tuple"):
            items = [build(item) for item in content]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {(int(key) if key_type == "int" else str(key)): build(item)
                    for key_type, key, item in content}
        raise ValueError(f"unknown layout kind {kind!r}")

    try:
        state = build(json.loads(str(layout_text)))
    except (ValueError, KeyError, TypeError) as error:
        raise SerializationError(f"load: {path!r} has an unreadable {LAYOUT_KEY} entry ({error!r}); "
                                 f"the file is corrupt") from None
    unused = sorted(set(arrays) - used)
    if unused:
        raise SerializationError(f"load: {path!r} has arrays its {LAYOUT_KEY} does not mention: {unused}")
    return state


__all__ = ["LAYOUT_KEY", "load", "save"]
