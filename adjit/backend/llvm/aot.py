"""Ahead-of-time compilation: an object file and a C header (`adjit compile`).

Each exported function is an optimized IR module lowered as for the JIT,
but without the CPython entry (`pyentry.py`): the object needs only libc
and libm. Its exported C entry (`entry.py`) is renamed to the symbol the
user asked for; everything else is internal. All modules share one table
of error sites, so one function, `<prefix>adjit_error_message`, turns any
failed call's error record into the message CPython would print
("ZeroDivisionError: float division by zero (at f.py:3:12: ...)").

The code is for the host CPU and position independent, so it links into
ordinary (PIE) executables. docs/cli.md describes the header.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import llvmlite.binding as llvm
from llvmlite import ir

from adjit.backend.llvm.abi import INT8, INT32, INT64, PTR, RECORD, R
from adjit.backend.llvm.entry import define_entry
from adjit.backend.llvm.engine import get_engine
from adjit.backend.llvm.lower import FunctionLowering, ModuleLowering
from adjit.backend.llvm.options import Options
from adjit.backend.llvm.runtime import load_field
from adjit.backend.llvm.runtime_checks import ErrorSite, SiteTable
from adjit.ir.core import Module
from adjit.ir.types import BOOL, F64, I64, ArrayType, Type

C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while bool true false main".split())


@dataclass
class Export:
    """One C function of the object: `symbol` runs `module`'s entry function.
    `result_names` name its result pointers in the header."""

    symbol: str
    module: Module
    result_names: list[str]
    summary: str


class _Lowering(ModuleLowering):
    """The JIT's lowering without the CPython entry, sharing one site table."""

    def __init__(self, module: Module, options: Options, prefix: str, triple: str,
                 sites: SiteTable):
        super().__init__(module, options, prefix, triple)
        self.sites = sites

    def lower(self) -> ir.Module:
        for fn in self.module.functions.values():
            FunctionLowering(self, fn).run()
        self.entry_name = define_entry(self, self.module.entry_function)
        return self.llmod


def check_symbols(exports: list[Export], error_function: str) -> None:
    """Exported names must be distinct C identifiers (ValueError otherwise)."""
    seen = {error_function}
    for e in exports:
        if not (e.symbol.isascii() and e.symbol.isidentifier()) or e.symbol in C_KEYWORDS:
            raise ValueError(f"{e.symbol!r} cannot be a C function name; choose a --prefix "
                             "(e.g. --prefix my_)")
        if e.symbol in seen:
            raise ValueError(f"two exported functions would both be named {e.symbol!r}")
        seen.add(e.symbol)


class ObjectCode:
    """The linked, optimized LLVM module of the exports; `header()` the C side."""

    def __init__(self, exports: list[Export], prefix: str = "",
                 options: Options | None = None):
        self.exports = exports
        self.prefix = prefix
        self.error_function = f"{prefix}adjit_error_message"
        check_symbols(exports, self.error_function)
        engine = get_engine()
        options = options or Options()
        sites = SiteTable()
        with engine.lock:
            modules = []
            for k, e in enumerate(exports):
                lowering = _Lowering(e.module, options, f"adjit_aot{k}", engine.triple, sites)
                lowering.lower()
                modules.append((engine.parse(str(lowering.llmod)), lowering.entry_name))
            errors = engine.parse(str(self._error_module(sites, engine.triple)))
            called = set(CODEGEN_CALLS).union(*(library_calls(m) for m, _ in modules),
                                              library_calls(errors))
            clashes = sorted(called & {e.symbol for e in exports})
            if clashes:
                raise ValueError(f"the exported name {clashes[0]!r} is also a C library "
                                 "function the code calls; choose a --prefix (e.g. --prefix "
                                 "my_)")
            linked = errors
            for (llmod, entry_name), e in zip(modules, exports):
                llmod.get_function(entry_name).name = e.symbol
                linked.link_in(llmod)
            engine.optimize(linked)
            self.llvm_ir = str(linked)
            self._machine = engine.target.create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                opt=3, reloc="pic", codemodel="default")
            self._engine = engine

    def _error_module(self, sites: SiteTable, triple: str) -> ir.Module:
        """`int64_t <prefix>adjit_error_message(const adjit_record *, char *, size_t)`:
        snprintf of the failed call's message; returns its length."""
        module = ir.Module(name="adjit_aot_errors")
        module.triple = triple
        snprintf = ir.Function(module, ir.FunctionType(INT32, [PTR, INT64, PTR], var_arg=True),
                               "snprintf")
        fn = ir.Function(module, ir.FunctionType(INT64, [PTR, PTR, INT64]), self.error_function)
        record, buf, size = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        site = load_field(b, RECORD, record, R["site"])
        payloads = [load_field(b, RECORD, record, R[f"payload{k}"]) for k in range(4)]
        unknown = fn.append_basic_block("unknown")
        switch = b.switch(site, unknown)

        def emit(fmt: str, args: list[ir.Value]) -> None:
            text = _string(module, fmt)
            n = b.call(snprintf, [buf, size, text] + args)
            b.ret(b.sext(n, INT64))

        for k, s in enumerate(sites.sites):
            block = fn.append_basic_block(f"site{k}")
            switch.add_case(ir.Constant(INT64, k), block)
            b.position_at_end(block)
            fmt, order = printf_message(s)
            emit(fmt, [payloads[j] for j in order])
        b.position_at_end(unknown)
        emit("adjit: no error (site %lld)", [site])
        return module

    def header(self, guard: str) -> str:
        """The C header declaring the exports and the types they use."""
        lines = [f"/* Generated by adjit compile: the C interface of {len(self.exports)} "
                 "compiled function(s). See docs/cli.md. */",
                 f"#ifndef {guard}", f"#define {guard}", "",
                 "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", "",
                 "#ifdef __cplusplus", 'extern "C" {', "#endif", "", HEADER_TYPES,
                 "/* The message of a failed call (status 1), as CPython prints it, written to",
                 "   buf (at most size bytes, NUL-terminated); returns its full length. */",
                 f"int64_t {self.error_function}(const adjit_record *record, char *buf, "
                 "size_t size);", ""]
        for e in self.exports:
            lines += [f"/* {e.summary} */", c_declaration(e) + ";", ""]
        lines += ["#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
        return "\n".join(lines)

    def assembly(self) -> str:
        with self._engine.codegen():
            return self._machine.emit_assembly(self._engine.parse(self.llvm_ir))

    def object_code(self) -> bytes:
        with self._engine.codegen():
            return self._machine.emit_object(self._engine.parse(self.llvm_ir))


HEADER_TYPES = """\
#ifndef ADJIT_TYPES_DEFINED
#define ADJIT_TYPES_DEFINED
/* Every function returns 0 on success, 1 when the Python code raised (see
   adjit_error_message); results are written through the trailing pointers. */
enum { ADJIT_OK = 0, ADJIT_ERROR = 1 };

/* Filled by a call: the error site and payloads, and memory statistics. */
typedef struct adjit_record {
    int64_t site, payload[4];
    int64_t allocs, copies, frees, leaked;
} adjit_record;

/* Array arguments: float64 elements, strides in bytes (any layout). flags:
   ADJIT_NO_INPLACE when the function must not write to this array's memory
   (it is read-only or aliases another argument); otherwise a function that
   writes to the parameter writes in place. */
enum { ADJIT_NO_INPLACE = 1 };
typedef struct { double *data; int64_t shape[1]; int64_t strides[1]; int64_t flags; }
    adjit_array1;
typedef struct { double *data; int64_t shape[2]; int64_t strides[2]; int64_t flags; }
    adjit_array2;

/* Array results. block: pass it to free() when done (once per distinct block:
   two results may share one); NULL when data is an argument's memory. */
typedef struct { double *data; int64_t shape[1]; int64_t strides[1]; void *block; }
    adjit_result1;
typedef struct { double *data; int64_t shape[2]; int64_t strides[2]; void *block; }
    adjit_result2;
#endif
"""


def c_type(t: Type, result: bool) -> str:
    if isinstance(t, ArrayType):
        return f"adjit_result{t.ndim} *" if result else f"const adjit_array{t.ndim} *"
    scalar = {F64: "double", I64: "int64_t", BOOL: "bool"}.get(t)
    if scalar is None:
        raise ValueError(f"a value of type {t} cannot cross the C interface")
    return scalar + (" *" if result else " ")


def c_declaration(e: Export) -> str:
    fn = e.module.entry_function
    taken = {"record"}
    names = [_c_name(p.hint or f"arg{k}", taken) for k, p in enumerate(fn.params)]
    params = ["adjit_record *record"] + [c_type(p.type, False) + name
                                         for p, name in zip(fn.params, names)]
    outs = e.result_names + [f"{names[k]}_final" for k in fn.writes]
    params += [c_type(t, True) + _c_name(name, taken) for t, name in zip(fn.result_types, outs)]
    return f"int32_t {e.symbol}({', '.join(params)})"


def _c_name(name: str, taken: set[str]) -> str:
    """`name` as a C parameter name not in `taken` (keywords get a trailing _)."""
    while name in taken or name in C_KEYWORDS:
        name += "_"
    taken.add(name)
    return name


# C library functions LLVM may call though the IR does not declare them.
CODEGEN_CALLS = frozenset({"sincos", "memcpy", "memmove", "memset"})


def library_calls(llmod: llvm.ModuleRef) -> set[str]:
    """The C library functions the code of `llmod` calls."""
    called = set()
    for f in llmod.functions:
        if f.is_declaration:
            # llvm.sin.f64 becomes a call of sin in the machine code.
            called.add(f.name.split(".")[1] if f.name.startswith("llvm.") else f.name)
    return called


def printf_message(site: ErrorSite) -> tuple[str, list[int]]:
    """A printf format of `site`'s full message and the payload for each %lld."""
    exc = site.exception(tuple(f"\x00{k}\x00" for k in range(4)))  # type: ignore[arg-type]
    parts = re.split("\x00([0-3])\x00", f"{site.exc_type.__name__}: {exc}")
    fmt = "".join(part.replace("%", "%%") if k % 2 == 0 else "%lld"
                  for k, part in enumerate(parts))
    return fmt, [int(p) for p in parts[1::2]]


def _string(module: ir.Module, text: str) -> ir.Value:
    data = bytearray(text.encode()) + b"\x00"
    typ = ir.ArrayType(INT8, len(data))
    var = ir.GlobalVariable(module, typ, f"msg{len(module.globals)}")
    var.global_constant = True
    var.linkage = "private"
    var.initializer = ir.Constant(typ, data)
    return var


__all__ = ["Export", "ObjectCode", "c_declaration", "printf_message"]
