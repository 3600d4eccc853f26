"""`jit(cache=True)`: compiled code kept on disk, reused by a new process,
never loaded from an entry that is damaged or written for something else.

Every test uses its own cache directory (ADJIT_CACHE_DIR) and its own source
file, so keys never repeat across tests (the engine also remembers, per
process, the functions of the keys it has seen)."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import adjit
from adjit.backend.llvm import disk_cache
from adjit.backend.llvm.engine import get_engine
from tests.conftest import REPO_ROOT

SOURCE = '''import math
import numpy as np

SCALE = {scale}


def textbook(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def ramp(n):
    a = np.zeros(n)
    for i in range(n):
        a[i] = SCALE * i
    return a


def divide(a, b):
    return a / b


def power(x, n):
    y = 1.0
    for i in range(n):
        y = y * x
    return y
'''

SCRIPT = '''import json, sys
sys.path.insert(0, {folder!r})
import adjit
import prog
from adjit.backend.llvm.engine import get_engine

out = {{"f": adjit.jit(prog.textbook, cache=True)(2.0, 5.0)}}
out["ramp"] = adjit.jit(prog.ramp, cache=True)(4).tolist()
out["grad"] = list(adjit.grad(adjit.jit(prog.textbook, cache=True), argnums=(0, 1))(2.0, 5.0))
out["power"] = adjit.jit(prog.power, cache=True, static_argnums=1)(2.0, 10)
try:
    adjit.jit(prog.divide, cache=True)(1.0, 0.0)
except ZeroDivisionError as exc:
    out["error"] = str(exc)
out["counts"] = get_engine().counts
print(json.dumps(out))
'''


def write_program(folder: Path, scale: float = 2.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prog.py"
    path.write_text(SOURCE.format(scale=scale))
    return path


def run_script(folder: Path, cache: Path) -> dict:
    env = dict(os.environ, ADJIT_CACHE_DIR=str(cache), PYTHONPATH=str(REPO_ROOT))
    env.pop("ADJIT_CACHE_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(folder=str(folder))],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_process_loads_without_compiling(tmp_path):
    folder, cache = tmp_path / "src", tmp_path / "cache"
    write_program(folder)
    cold = run_script(folder, cache)
    assert cold["counts"]["compiled"] >= 5 and cold["counts"]["loaded"] == 0
    warm = run_script(folder, cache)
    assert warm["counts"] == {"compiled": 0, "loaded": 5}
    for out in (cold, warm):
        assert out["f"] == pytest.approx(np.log(2.0) + 10.0 - np.sin(5.0), rel=1e-15)
        assert out["ramp"] == [0.0, 2.0, 4.0, 6.0]
        assert out["grad"] == pytest.approx([5.5, 2.0 - np.cos(5.0)], rel=1e-15)
        assert out["power"] == 1024.0
        assert "division by zero" in out["error"] and "prog.py:19" in out["error"]
    assert cold == {**warm, "counts": cold["counts"]}


def test_processes_filling_one_cache_at_once(tmp_path):
    folder, cache = tmp_path / "src", tmp_path / "cache"
    write_program(folder)
    env = dict(os.environ, ADJIT_CACHE_DIR=str(cache), PYTHONPATH=str(REPO_ROOT))
    script = SCRIPT.format(folder=str(folder))
    running = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = []
    for process in running:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert all({**o, "counts": None} == {**outputs[0], "counts": None} for o in outputs)
    assert not list(cache.glob(".tmp-*"))  # every write was moved into place
    warm = run_script(folder, cache)
    assert warm["counts"] == {"compiled": 0, "loaded": 5}
    assert {**warm, "counts": None} == {**outputs[0], "counts": None}


def test_a_changed_source_is_compiled_again(tmp_path):
    folder, cache = tmp_path / "src", tmp_path / "cache"
    write_program(folder)
    run_script(folder, cache)
    write_program(folder, scale=3.0)
    changed = run_script(folder, cache)
    assert changed["ramp"] == [0.0, 3.0, 6.0, 9.0]
    # Only the ramp reads SCALE, but the fingerprint covers the whole file.
    assert changed["counts"]["loaded"] == 0


# --- in this process: entries damaged or written for something else --------------------

@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ADJIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fresh_function(tmp_path: Path, name: str, body: str = "return x * y + 1.0"):
    """A jit(cache=True) function from a file no other test uses."""
    path = tmp_path / f"{name}.py"
    path.write_text(f"def {name}(x, y):\n    {body}\n")
    return lambda: adjit.jit((str(path), name), cache=True)


def function_entries(cache: Path) -> list[Path]:
    """The entries of compiled functions (not the runtime's)."""
    entries = []
    for path in sorted(cache.glob("*.adjit")):
        header, _ = disk_cache._parse_header(path.read_bytes())
        if "runtime" not in header["key"]:
            entries.append(path)
    return entries


def function_entry(cache: Path) -> Path:
    [entry] = function_entries(cache)
    return entry


def forget_in_process(path: Path) -> None:
    """Make this process read the entry again (as a new process would)."""
    header, _ = disk_cache._parse_header(path.read_bytes())
    get_engine().cached.pop(disk_cache.key_digest(header["key"]), None)


def rewrite_header(path: Path, change) -> None:
    data = path.read_bytes()
    header, at = disk_cache._parse_header(data)
    change(header)
    raw = json.dumps(header).encode()
    path.write_bytes(disk_cache.MAGIC + disk_cache._LENGTH.pack(len(raw)) + raw + data[at:])


def damage_payload(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 300])


def foreign_llvm(path: Path) -> None:
    rewrite_header(path, lambda h: h["key"]["environment"].update(llvm=[1, 0, 0]))


def foreign_cpu(path: Path) -> None:
    rewrite_header(path, lambda h: h["key"]["environment"].update(cpu="i386"))


def tampered_metadata(path: Path) -> None:
    rewrite_header(path, lambda h: h["metadata"].update(results=["i64"]))


def shifted_sections(path: Path) -> None:
    """Section lengths changed, the total kept: the payload would be cut elsewhere."""
    def shift(header: dict) -> None:
        header["sections"]["object"] -= 8
        header["sections"]["llvm"] += 8
    rewrite_header(path, shift)


def not_an_entry(path: Path) -> None:
    path.write_bytes(b"\x7fELF" + os.urandom(64))


@pytest.mark.parametrize("damage", [damage_payload, truncate, foreign_llvm, foreign_cpu,
                                    tampered_metadata, shifted_sections, not_an_entry])
def test_a_bad_entry_is_ignored_and_rebuilt(tmp_path, cache_dir, damage):
    make = fresh_function(tmp_path, f"f_{damage.__name__}")
    assert make()(2.0, 3.0) == 7.0
    path = function_entry(cache_dir)
    good = path.read_bytes()
    forget_in_process(path)
    damage(path)
    header, _ = disk_cache._parse_header(good)
    assert disk_cache.read_entry(header["key"]) is None  # never loaded blindly
    compiled = get_engine().counts["compiled"]
    assert make()(2.0, 3.0) == 7.0
    assert get_engine().counts["compiled"] == compiled + 1
    assert disk_cache.read_entry(header["key"]) is not None  # overwritten with a good one


def test_an_entry_loads_in_process_and_keeps_error_sites(tmp_path, cache_dir):
    make = fresh_function(tmp_path, "g_sites", "return x / y")
    assert make()(1.0, 4.0) == 0.25
    forget_in_process(function_entry(cache_dir))
    loaded = get_engine().counts["loaded"]
    f = make()
    with pytest.raises(ZeroDivisionError, match=r"g_sites\.py:2:12: return x / y"):
        f(1.0, 0.0)
    assert get_engine().counts["loaded"] == loaded + 1
    assert "fdiv" in f.inspect_llvm(1.0, 2.0)
    assert "div" in f.inspect_ir(1.0, 2.0)  # lowered on demand: the entry holds no IR


WRITER = """import numpy as np


def scale(a, s):
    out = np.zeros(len(a))
    for i in range(len(a)):
        a[i] = a[i] * s
        out[i] = a[i] + 1.0
    return out
"""


def test_a_loaded_entry_keeps_array_arguments_results_and_writes(tmp_path, cache_dir):
    path = tmp_path / "w.py"
    path.write_text(WRITER)
    first = np.arange(4.0)
    np.testing.assert_array_equal(adjit.jit((str(path), "scale"), cache=True)(first, 2.0),
                                  [1.0, 3.0, 5.0, 7.0])
    forget_in_process(function_entry(cache_dir))
    loaded = get_engine().counts["loaded"]
    f = adjit.jit((str(path), "scale"), cache=True)
    a = np.arange(4.0)
    np.testing.assert_array_equal(f(a, 3.0), [1.0, 4.0, 7.0, 10.0])
    np.testing.assert_array_equal(a, [0.0, 3.0, 6.0, 9.0])  # the write reached the caller
    strided = np.arange(8.0)[::2]
    np.testing.assert_array_equal(f(strided, 1.0), [1.0, 3.0, 5.0, 7.0])
    assert get_engine().counts["loaded"] == loaded + 1


def test_keys_differ_by_options_signature_and_static_values(tmp_path, cache_dir):
    path = tmp_path / "k.py"
    path.write_text("def k(x, n):\n    return x * n\n")
    adjit.jit((str(path), "k"), cache=True)(2.0, 3)
    adjit.jit((str(path), "k"), cache=True)(2.0, 3.0)
    adjit.jit((str(path), "k"), cache=True, fastmath=True)(2.0, 3.0)
    adjit.jit((str(path), "k"), cache=True, static_argnums=1)(2.0, 3)
    adjit.jit((str(path), "k"), cache=True, static_argnums=1)(2.0, 4)
    adjit.grad(adjit.jit((str(path), "k"), cache=True))(2.0, 3.0)
    assert len(function_entries(cache_dir)) == 6


def test_transformations_without_a_step_key_are_not_cached(tmp_path, cache_dir):
    make = fresh_function(tmp_path, "h_jac")
    jac = adjit.jacfwd(make(), argnums=(0, 1))(2.0, 3.0)
    assert jac == (3.0, 2.0)
    assert function_entries(cache_dir) == []


def test_an_unwritable_directory_warns_and_still_compiles(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ADJIT_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(disk_cache, "_warned", False)
    make = fresh_function(tmp_path, "u_unwritable")
    with pytest.warns(RuntimeWarning, match="cannot write its cache"):
        assert make()(2.0, 3.0) == 7.0


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ADJIT_CACHE_DIR", str(tmp_path / "explicit"))
    assert disk_cache.cache_directory() == tmp_path / "explicit"
    monkeypatch.delenv("ADJIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert disk_cache.cache_directory() == tmp_path / "xdg" / "adjit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert disk_cache.cache_directory() == tmp_path / "home" / ".cache" / "adjit"


def test_the_fingerprint_follows_globals_closures_and_callees(tmp_path):
    namespace: dict = {}
    path = tmp_path / "fp.py"
    path.write_text(textwrap.dedent('''
        import math
        K = 2.0

        def helper(x):
            return x * K

        def outer(x):
            return helper(x) + math.sin(x)
    '''))
    code = compile(path.read_text(), str(path), "exec")
    exec(code, namespace)
    before = disk_cache.source_fingerprint(namespace["outer"])
    namespace["K"] = 3.0  # a global the callee reads, changed at run time
    assert disk_cache.source_fingerprint(namespace["outer"]) != before
    namespace["K"] = 2.0
    assert disk_cache.source_fingerprint(namespace["outer"]) == before

    def make(c):
        def inner(x):
            return x + c
        return inner

    assert disk_cache.source_fingerprint(make(1.0)) != disk_cache.source_fingerprint(make(2.0))


def test_the_cache_never_unpickles():
    for module in ("disk_cache.py", "engine.py"):
        tree = ast.parse((REPO_ROOT / "adjit" / "backend" / "llvm" / module).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"pickle", "marshal", "shelve", "dill", "cloudpickle"}
