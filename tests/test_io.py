"""`tr.save` / `tr.load`: exact round trips, atomic writes that survive a crash, hostile files."""

from __future__ import annotations

import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr
from tinygrad_rnn import nn

REPO = pathlib.Path(__file__).resolve().parents[1]

numeric_dtypes = st.one_of(
    hnp.floating_dtypes(sizes=(16, 32, 64)), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
    hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
)
any_shape = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
numeric_arrays = numeric_dtypes.flatmap(lambda dtype: hnp.arrays(dtype, any_shape))
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}(\.[a-z0-9_]{1,5}){0,3}", fullmatch=True)
tmp_dir_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_same_array(got: Any, want: np.ndarray) -> None:
    """Same dtype (byte order included), shape and bytes: NaN payloads and -0.0 included."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype and got.dtype.byteorder == want.dtype.byteorder
    assert got.shape == want.shape
    assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()


def assert_same_structure(got: Any, want: Any) -> None:
    assert type(got) is type(want) or (isinstance(want, np.generic) and isinstance(got, np.ndarray))
    if isinstance(want, dict):
        assert list(got) == list(want)
        assert [type(k) for k in got] == [type(k) for k in want]
        for key in want:
            assert_same_structure(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same_structure(g, w)
    elif isinstance(want, (np.ndarray, np.generic)):
        assert_same_array(got, np.asarray(want))
    elif isinstance(want, float) and want != want:
        assert got != got
    else:
        assert got == want


# -- round trips --------------------------------------------------------------------------------------


@given(st.dictionaries(names, numeric_arrays, max_size=5))
@tmp_dir_settings
def test_flat_dict_of_arrays_round_trips_exactly(tmp_path: pathlib.Path,
                                                 state: dict[str, np.ndarray]) -> None:
    path = tmp_path / "state.npz"
    tr.save(state, path)
    loaded = tr.load(path)
    assert list(loaded) == list(state)
    for key, array in state.items():
        assert_same_array(loaded[key], array)
    with np.load(path) as plain:  # an ordinary npz: numpy reads it too, under the same names
        assert sorted(plain.files) == sorted(state)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                   "uint8", "uint16", "uint32", "uint64", "bool", ">f8", "<i4"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (1,), (2, 3), (2, 1, 3)])
def test_every_dtype_and_shape_round_trips(tmp_path: pathlib.Path, dtype: str,
                                           shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    array = np.asarray(rng.normal(size=shape) * 100).astype(dtype)
    tr.save({"a": array, "transposed": array.T, "scalar": array.reshape(-1)[:1].sum()}, tmp_path / "x.npz")
    loaded = tr.load(tmp_path / "x.npz")
    assert_same_array(loaded["a"], array)
    assert_same_array(loaded["transposed"], array.T)
    assert_same_array(loaded["scalar"], np.asarray(array.reshape(-1)[:1].sum()))


def test_special_float_values_round_trip_bit_for_bit(tmp_path: pathlib.Path) -> None:
    array = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    half = np.array([np.nan, -np.inf, -0.0, 6e-8, 65504.0], dtype=np.float16)
    tr.save({"special": array, "half": half}, tmp_path / "x.npz")
    loaded = tr.load(tmp_path / "x.npz")
    assert_same_array(loaded["special"], array)
    assert_same_array(loaded["half"], half)


leaves = st.one_of(numeric_arrays, st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.booleans(),
                   st.none(), st.text(max_size=5))
keys = st.one_of(st.from_regex(r"[a-zA-Z_]{1,6}", fullmatch=True), st.integers(0, 50))
nested = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=3), st.lists(children, max_size=3).map(tuple),
                               st.dictionaries(keys, children, max_size=3)),
    max_leaves=8,
)


@given(st.dictionaries(keys, nested, max_size=4))
@tmp_dir_settings
def test_nested_state_round_trips_with_its_types(tmp_path: pathlib.Path, state: dict[Any, Any]) -> None:
    tr.save(state, tmp_path / "nested.npz")
    assert_same_structure(tr.load(tmp_path / "nested.npz"), state)


def test_tensors_and_numpy_scalars_are_stored_as_arrays(tmp_path: pathlib.Path) -> None:
    t = tr.Tensor(np.arange(3.0), requires_grad=True)
    tr.save({"t": t, "s": np.float32(2.5)}, tmp_path / "x.npz")
    loaded = tr.load(tmp_path / "x.npz")
    assert_same_array(loaded["t"], np.arange(3.0))
    assert_same_array(loaded["s"], np.array(2.5, dtype=np.float32))


def test_module_state_dict_round_trips_and_gives_the_same_outputs(tmp_path: pathlib.Path) -> None:
    tr.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    tr.save(model.state_dict(), tmp_path / "model.npz")
    tr.manual_seed(2)
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x = tr.randn(3, 4)
    assert not np.allclose(other(x).data, model(x).data)
    other.load_state_dict(tr.load(tmp_path / "model.npz"))
    np.testing.assert_array_equal(other(x).data, model(x).data)
    with np.load(tmp_path / "model.npz") as plain:
        assert sorted(plain.files) == sorted(model.state_dict())


def test_path_is_used_as_given(tmp_path: pathlib.Path) -> None:
    tr.save({"a": np.ones(1)}, str(tmp_path / "checkpoint.bin"))
    assert os.listdir(tmp_path) == ["checkpoint.bin"]
    assert_same_array(tr.load(tmp_path / "checkpoint.bin")["a"], np.ones(1))


def test_saved_file_gets_ordinary_permissions(tmp_path: pathlib.Path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    tr.save({"a": np.ones(1)}, tmp_path / "x.npz")
    assert os.stat(tmp_path / "x.npz").st_mode == os.stat(tmp_path / "plain").st_mode


# -- what save refuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "message"), [
    ({"w": np.array([object()], dtype=object)}, "Python objects"),
    ({"w": {1.5: np.ones(1)}}, "keys must be str or int"),
    ({"w": {"x": object()}}, "values must be arrays"),
    ({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, "both stored under the name 'a.b'"),
    ({"__layout__": np.ones(1)}, "reserved"),
])
def test_unsavable_state_is_refused_before_touching_the_target(tmp_path: pathlib.Path, state: dict[Any, Any],
                                                              message: str) -> None:
    path = tmp_path / "x.npz"
    tr.save({"old": np.arange(3)}, path)
    with pytest.raises(tr.SerializationError, match=message):
        tr.save(state, path)
    assert_same_array(tr.load(path)["old"], np.arange(3))
    assert os.listdir(tmp_path) == ["x.npz"]


def test_save_into_a_missing_directory_names_it(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"directory .*absent.* does not exist"):
        tr.save({"a": np.ones(1)}, tmp_path / "absent" / "x.npz")


def test_save_needs_a_dict() -> None:
    with pytest.raises(tr.SerializationError, match="expected a dict"):
        tr.save([np.ones(1)], "unused.npz")


def test_error_while_writing_keeps_the_old_file_and_removes_the_temporary(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.npz"
    tr.save({"old": np.arange(3)}, path)
    written = []
    real_write = np.lib.format.write_array

    def failing_write(fp: Any, array: np.ndarray, **kwargs: Any) -> None:
        if written:
            raise OSError("disk full")
        written.append(array)
        real_write(fp, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        tr.save({"a": np.ones(10), "b": np.ones(10)}, path)
    monkeypatch.undo()
    assert_same_array(tr.load(path)["old"], np.arange(3))
    assert os.listdir(tmp_path) == ["x.npz"]


# -- a crash in the middle of a save ------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import tinygrad_rnn as tr
    path, first = sys.argv[1], int(sys.argv[2])
    for version in range(first, first + 10_000):
        payload = np.full(300_000, version, dtype=np.float64)
        tr.save({"version": np.array(version), "payload": payload, "meta": {"step": version}}, path)
        print(version, flush=True)
""")


def assert_complete_version(path: pathlib.Path) -> int:
    state = tr.load(path)
    version = int(state["version"])
    assert state["meta"] == {"step": version}
    assert state["payload"].shape == (300_000,) and np.all(state["payload"] == version)
    return version


def test_killing_the_writer_mid_save_leaves_the_old_or_the_new_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "ckpt.npz"
    tr.save({"version": np.array(-1), "payload": np.full(300_000, -1.0), "meta": {"step": -1}}, path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    chooser = random.Random(0)
    last = -1
    for round_number in range(5):
        first = (round_number + 1) * 100_000
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(first)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        stamps = []
        for _ in range(chooser.randint(2, 4)):  # let some saves complete and time them
            assert child.stdout.readline(), "the writer died on its own"
            stamps.append(time.perf_counter())
        time.sleep(chooser.uniform(0.0, 1.2) * (stamps[-1] - stamps[-2]))  # then a random moment
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        version = assert_complete_version(path)
        assert version >= first and version > last
        last = version
    leftovers = [name for name in os.listdir(tmp_path) if name != "ckpt.npz"]
    assert all(name.startswith(".ckpt.npz.") and name.endswith(".tmp") for name in leftovers)


PAUSING_CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import tinygrad_rnn as tr
    path, where = sys.argv[1], sys.argv[2]
    module, name = (np.lib.format, "write_array") if where == "write_array" else (os, where)
    real = getattr(module, name)

    def announce_and_wait(*args, **kwargs):
        if where != "write_array" or args[1].size > 1:  # the payload, half written
            print("inside", flush=True)
            time.sleep(60)
        return real(*args, **kwargs)

    setattr(module, name, announce_and_wait)
    tr.save({"version": np.array(1), "payload": np.full(300_000, 1.0), "meta": {"step": 1}}, path)
""")


@pytest.mark.parametrize("where", ["write_array", "fsync", "replace"])
def test_kill_at_each_stage_of_a_save_keeps_the_old_file(tmp_path: pathlib.Path, where: str) -> None:
    """Killed while the data is written, while it is synced, or just before the rename."""
    path = tmp_path / "ckpt.npz"
    tr.save({"version": np.array(0), "payload": np.full(300_000, 0.0), "meta": {"step": 0}}, path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", PAUSING_CHILD, str(path), where], env=env,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "inside\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert assert_complete_version(path) == 0
    assert any(name.endswith(".tmp") for name in os.listdir(tmp_path))  # the save was under way


# -- hostile and damaged files ------------------------------------------------------------------------


def test_missing_path_is_a_serialization_error_and_a_file_not_found_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(tr.CheckpointNotFoundError, match="no file at") as caught:
        tr.load(tmp_path / "absent.npz")
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, tr.SerializationError)


def test_directory_and_empty_file_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(tr.SerializationError, match="is a directory"):
        tr.load(tmp_path)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(tr.SerializationError, match="is empty"):
        tr.load(tmp_path / "empty.npz")


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("bytes") / "x.npz"
    tr.save({"weight": np.arange(12.0).reshape(3, 4), "opt": {"step": 3, "lr": 0.1}}, path)
    return path.read_bytes()


@given(data=st.data())
@tmp_dir_settings
def test_truncated_file_is_refused(tmp_path: pathlib.Path, checkpoint_bytes: bytes,
                                   data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(checkpoint_bytes) - 1))
    path = tmp_path / "cut.npz"
    path.write_bytes(checkpoint_bytes[:cut])
    with pytest.raises(tr.SerializationError, match=r"truncated|empty|not an \.npz"):
        tr.load(path)


@given(data=st.data())
@tmp_dir_settings
def test_damaged_byte_is_refused_or_harmless(tmp_path: pathlib.Path, checkpoint_bytes: bytes,
                                            data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(checkpoint_bytes) - 1))
    damaged = bytearray(checkpoint_bytes)
    damaged[position] ^= data.draw(st.integers(1, 255))
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(damaged))
    try:
        loaded = tr.load(path)
    except tr.SerializationError:
        return
    assert_same_structure(loaded, {"weight": np.arange(12.0).reshape(3, 4), "opt": {"step": 3, "lr": 0.1}})


def test_other_formats_are_named(tmp_path: pathlib.Path) -> None:
    (tmp_path / "text.npz").write_text("hello")
    np.save(tmp_path / "single.npy", np.ones(2))
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"w": [1.0]}))
    cases = {"text.npz": "not an .npz", "single.npy": "single .npy array", "pickle.npz": "Python pickle"}
    for name, message in cases.items():
        with pytest.raises(tr.SerializationError, match=message):
            tr.load(tmp_path / name)


def test_zip_with_a_foreign_member_is_refused(tmp_path: pathlib.Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(tr.SerializationError, match=r"not a \.npy array"):
        tr.load(tmp_path / "x.npz")


class CreatesMarker:
    """Unpickling this object creates the file `marker`: the stand-in for running any code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (pathlib.Path.touch, (self.marker,))


def test_pickled_object_array_is_refused_without_running_it(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.npz"
    np.savez(evil, weight=np.ones(2), payload=np.array([CreatesMarker(marker)], dtype=object))
    with pytest.raises(tr.SerializationError, match=r"Python objects.*refused"):
        tr.load(evil)
    assert not marker.exists()
    np.load(evil, allow_pickle=True)["payload"]  # the file is truly dangerous to unpickle
    assert marker.exists()


@pytest.mark.parametrize("dtype", [object, [("x", "f8"), ("obj", "O")]])
def test_any_dtype_holding_objects_is_refused(tmp_path: pathlib.Path, dtype: Any) -> None:
    marker = tmp_path / "marker"
    payload = np.zeros(1, dtype=dtype)
    if payload.dtype.names:
        payload["obj"][0] = CreatesMarker(marker)
    else:
        payload[0] = CreatesMarker(marker)
    np.savez(tmp_path / "evil.npz", payload=payload)
    with pytest.raises(tr.SerializationError, match="Python objects"):
        tr.load(tmp_path / "evil.npz")
    assert not marker.exists()


def test_pickle_file_is_refused_without_running_it(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "model.pt").write_bytes(pickle.dumps({"weight": CreatesMarker(marker)}))
    with pytest.raises(tr.SerializationError, match="pickle"):
        tr.load(tmp_path / "model.pt")
    assert not marker.exists()


def test_tampered_layout_is_refused(tmp_path: pathlib.Path) -> None:
    layout = np.array('{"dict": [["str", "w", {"array": "missing"}]]}')
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as archive, archive.open("__layout__.npy", "w") as member:
        np.lib.format.write_array(member, layout)
    with pytest.raises(tr.SerializationError, match="unreadable __layout__"):
        tr.load(tmp_path / "x.npz")
