"""The on-disk cache of compiled object code (`jit(cache=True)`).

An entry holds what a new process needs to call a compiled function without
parsing, lowering or running LLVM: the host object code (which MCJIT loads
with `add_object_file`) and, as data, everything the Python wrapper needs
besides (entry symbols, parameter and result types, error sites, the LLVM
IR for inspection). Entries are never pickled and never trusted blindly:

    adjit-object-cache\\n  <header length: 8 bytes, little endian>  <JSON header>  <payload>

The header repeats the full key (source fingerprint, signature, steps,
options, and the environment: adjit, llvmlite, LLVM, Python and numpy
versions, host CPU name and features), holds the metadata, and gives the
section lengths of the payload and the sha256 of all but the key. An
entry is used only when its magic, its key, its length and its digest all
match; anything else (truncated, corrupted, written for another key,
version or CPU) is ignored, and the fresh compile that follows overwrites
it. Writes go to a temporary file that `os.replace`
moves into place, so concurrent processes see whole entries or none.

The file name is the sha256 of the key. The key's `function` part is a
cheap fingerprint of the source (`source_fingerprint`): it is computed from
the Python function object before anything is parsed.

Directory: $ADJIT_CACHE_DIR, else $XDG_CACHE_HOME/adjit, else ~/.cache/adjit.
ADJIT_CACHE_DEBUG=1 reports each hit, miss, rejection and write on stderr.
"""
from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import struct
import sys
import tempfile
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.errors import SourceFile, Span

FORMAT = 1
MAGIC = b"adjit-object-cache\n"
SUFFIX = ".adjit"
_LENGTH = struct.Struct("<Q")


def cache_directory() -> Path:
    explicit = os.environ.get("ADJIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "adjit" if xdg else Path.home() / ".cache" / "adjit"


def debug(message: str) -> None:
    if os.environ.get("ADJIT_CACHE_DEBUG"):
        print(f"adjit cache: {message}", file=sys.stderr, flush=True)


# --- the key ----------------------------------------------------------------------------

_environment: dict[str, Any] | None = None


def environment() -> dict[str, Any]:
    """What the machine code depends on besides the program (once per process)."""
    global _environment
    if _environment is None:
        import llvmlite
        import llvmlite.binding as llvm

        import adjit

        _environment = {
            "adjit": adjit.__version__, "compiler": compiler_fingerprint(),
            "llvmlite": llvmlite.__version__, "llvm": list(llvm.llvm_version_info),
            "python": sys.version, "numpy": np.__version__,
            "triple": llvm.get_process_triple(), "cpu": host_cpu()[0], "features": host_cpu()[1],
        }
    return _environment


@functools.cache
def host_cpu() -> tuple[str, str]:
    """The host CPU's name and LLVM feature string (what code is generated for)."""
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def compiler_fingerprint() -> str:
    """adjit's own files by name, size and modification time: a compiler
    changed in place (a development checkout) never reuses older entries."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir() and entry.name != "__pycache__":
                    stack.append(Path(entry.path))
                elif entry.name.endswith((".py", ".lark")):
                    st = entry.stat()
                    digest.update(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _code_names(code: types.CodeType) -> set[str]:
    """The global names a code object and the code nested in it may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def source_fingerprint(fn: Any) -> str | None:
    """A digest of everything the compiled code of Python function `fn` can
    depend on, read from function objects without parsing: for `fn` and
    every Python function it can reach through its globals and closure, the
    source file's text, its qualified name and first line, and the values of
    the global and free names its code reads (numbers by value, modules and
    library functions by name). A (path, name) pair is the file's text and
    the name. None when a source cannot be read (nothing is cached then)."""
    if isinstance(fn, (tuple, list)):
        path, name = fn
        text = _file_digest(str(path))
        return None if text is None else hashlib.sha256(f"{text}:{name}".encode()).hexdigest()
    from adjit.frontend.source import unwrap

    digest = hashlib.sha256()
    seen: set[int] = set()
    pending = [unwrap(fn)]
    while pending:
        g = pending.pop()
        if id(g) in seen:
            continue
        seen.add(id(g))
        code = getattr(g, "__code__", None)
        if not isinstance(g, types.FunctionType) or code is None:
            return None
        text = _file_digest(code.co_filename)
        if text is None:  # a notebook cell or an exec'd string: its own source text
            import inspect

            try:
                text = hashlib.sha256(inspect.getsource(g).encode()).hexdigest()
            except (OSError, TypeError):
                return None
        digest.update(f"function {g.__module__}.{g.__qualname__}:{code.co_firstlineno}:"
                      f"{text}\n".encode())
        reads = [(n, g.__globals__[n]) for n in sorted(_code_names(code)) if n in g.__globals__]
        for name, cell in zip(code.co_freevars, g.__closure__ or ()):
            try:
                reads.append((name, cell.cell_contents))
            except ValueError:  # a free variable not bound yet
                reads.append((name, None))
        for name, value in reads:
            digest.update(f"  {name} = {_describe(value, pending)}\n".encode())
    return digest.hexdigest()


def _describe(value: Any, pending: list) -> str:
    """How a name's value enters compiled code; functions are queued."""
    from adjit.frontend.source import unwrap

    value = unwrap(value)
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, types.FunctionType):
        pending.append(value)
        return f"function {value.__module__}.{value.__qualname__}"
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc)):
        return f"builtin {getattr(value, '__module__', '')}.{value.__name__}"
    return f"object {type(value).__module__}.{type(value).__qualname__}"


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# --- entries -----------------------------------------------------------------------------

def entry_path(key: dict[str, Any]) -> Path:
    return cache_directory() / (key_digest(key) + SUFFIX)


def read_entry(key: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """(metadata, sections) of the entry for `key`, or None when there is no
    valid entry for exactly this key."""
    path = entry_path(key)
    try:
        data = path.read_bytes()
    except OSError:
        debug(f"miss {path}")
        return None
    reason = None
    try:
        header, payload_at = _parse_header(data)
        payload = memoryview(data)[payload_at:]
        if header.get("format") != FORMAT or header.get("key") != key:
            reason = "written for another key, version or CPU"
        elif not all(type(n) is int and n >= 0 for n in header["sections"].values()) \
                or sum(header["sections"].values()) != len(payload):
            reason = "truncated"
        elif _digest(header["metadata"], header["sections"], payload) != header["sha256"]:
            reason = "corrupted (digest mismatch)"
    except (ValueError, KeyError, TypeError, AttributeError):
        reason = "unreadable header"
    if reason is not None:
        debug(f"rejected {path}: {reason}")
        return None
    sections, at = {}, 0
    for name, length in header["sections"].items():
        sections[name] = bytes(payload[at:at + length])
        at += length
    debug(f"hit {path}")
    return header["metadata"], sections


def _digest(metadata: dict[str, Any], lengths: dict[str, int], payload: bytes | memoryview) -> str:
    """The sha256 of the metadata, the section lengths and the payload
    (everything the loader trusts besides the key, which must equal its own)."""
    digest = hashlib.sha256(json.dumps([metadata, lengths], sort_keys=True).encode())
    digest.update(payload)
    return digest.hexdigest()


def _parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LENGTH.size:
        raise ValueError("not an adjit cache entry")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if start + length > len(data):
        raise ValueError("truncated header")
    header = json.loads(data[start:start + length].decode())
    if not isinstance(header, dict) or not isinstance(header.get("sections"), dict):
        raise ValueError("malformed header")
    return header, start + length


_warned = False


def write_entry(key: dict[str, Any], metadata: dict[str, Any], sections: dict[str, bytes]) -> None:
    """Store an entry atomically; an unwritable directory costs one warning."""
    global _warned
    payload = b"".join(sections.values())
    lengths = {k: len(v) for k, v in sections.items()}
    header = json.dumps({"format": FORMAT, "key": key, "metadata": metadata,
                         "sections": lengths, "sha256": _digest(metadata, lengths, payload)}
                        ).encode()
    path = entry_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + _LENGTH.pack(len(header)) + header + payload)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        if not _warned:
            _warned = True
            warnings.warn(f"adjit cannot write its cache in {path.parent} ({exc}); compiled "
                          "code is not kept on disk (set ADJIT_CACHE_DIR to a writable "
                          "directory)", RuntimeWarning, stacklevel=4)
        return
    debug(f"wrote {path}")


# --- error sites as data ------------------------------------------------------------------

def sites_to_data(table: SiteTable) -> dict[str, Any]:
    """The error sites as JSON data; each source text is stored once."""
    sources: list[SourceFile] = []
    sites = []
    for site in table.sites:
        index = None
        if site.source is not None:
            if site.source not in sources:
                sources.append(site.source)
            index = sources.index(site.source)
        span = None if site.span is None else [site.span.line, site.span.col,
                                               site.span.end_line, site.span.end_col]
        sites.append([site.exc_type.__name__, site.template, index, span])
    return {"sources": [[s.name, s.text] for s in sources], "sites": sites}


def sites_from_data(data: dict[str, Any]) -> SiteTable:
    """Inverse of `sites_to_data` (ValueError for anything malformed)."""
    sources = [SourceFile(str(name), str(text)) for name, text in data["sources"]]
    table = SiteTable()
    for exc_name, template, index, span in data["sites"]:
        table.add(exception_type(exc_name), str(template),
                  None if index is None else sources[index],
                  None if span is None else Span(*(int(x) for x in span)))
    return table


def exception_type(name: str) -> type[BaseException]:
    """A built-in exception class by name (the only kind compiled code raises)."""
    exc = getattr(builtins, name, None)
    if not (isinstance(exc, type) and issubclass(exc, BaseException)):
        raise ValueError(f"not a built-in exception: {name!r}")
    return exc
