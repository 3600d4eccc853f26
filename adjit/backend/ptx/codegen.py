"""IR module -> PTX text, through the CPU backend's lowering.

Every function is lowered exactly as for the CPU (`adjit.backend.llvm`:
same rules, same error sites, same runtime), with three things swapped:

- the target triple is nvptx64-nvidia-cuda, and the exported entry is a
  kernel (`kernel.py`) instead of the C and CPython entries;
- allocation goes to a per-thread arena instead of malloc (`arena.py`);
- math goes to libdevice: LLVM cannot select `llvm.sin.f64` and its kin
  on NVPTX, so calls of those intrinsics become calls of `__nv_sin`, ...,
  and the C library's functions become libdevice's (`__nv_asin`, ...).

libdevice's bitcode is linked in, every function but the kernel is made
internal, the module gets LLVM's O3 for the chosen sm_XX (which also
resolves libdevice's `__nvvm_reflect` queries and drops unused functions),
and the NVPTX target machine prints PTX.

The GPU rule (docs/gpu.md): a `while` loop that carries a tape (reverse
mode through a loop whose trip count is unknown when it starts) is an
`UnsupportedError` at the loop: its tape would have to grow during the
call. A `for` loop's tape is reserved once, with the loop's trip count.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import llvmlite.binding as llvm

from adjit.backend.llvm.engine import get_engine
from adjit.backend.llvm.lower import FunctionLowering, ModuleLowering
from adjit.backend.llvm.options import Options
from adjit.backend.llvm.mathfns import SYMBOLS
from adjit.backend.llvm.runtime_checks import SiteTable
from adjit.backend.ptx.arena import ArenaRuntime
from adjit.backend.ptx.kernel import define_kernel
from adjit.backend.ptx.toolkit import find_libdevice
from adjit.errors import AdjitError, InternalError, UnsupportedError
from adjit.ir import ops
from adjit.ir.core import Module
from adjit.ir.types import TapeType

TRIPLE = "nvptx64-nvidia-cuda"
DEFAULT_ARCH = "sm_80"

# Intrinsics NVPTX cannot select for f64, and their libdevice functions.
UNSELECTABLE = ("sin", "cos", "tan", "exp", "exp2", "log", "log2", "log10", "pow")
_INTRINSIC_CALL = re.compile(r'@"?llvm\.(' + "|".join(UNSELECTABLE) + r')\.f64"?')
# C's fmod (CPython's float `%` and `//`), which NVPTX has no instruction for.
_FREM = re.compile(r'(%"?[\w.]+"?) = frem (?:[a-z]+ )*double ([^,]+), (.+)$', re.MULTILINE)

LIBDEVICE_SYMBOLS: dict[str, tuple[str, str]] = {
    name: (kind, f"__nv_{symbol}" if kind == "libm" else symbol)
    for name, (kind, symbol) in SYMBOLS.items()}

@dataclass(frozen=True)
class PtxProgram:
    """A module compiled for the GPU: the PTX text, the kernel's name, and
    the error sites its error buffer refers to."""

    ptx: str
    kernel: str
    arch: str
    sites: SiteTable
    module: Module
    uses_arena: bool  # the program allocates arrays or tapes (arena.py)


def check_arch(arch: str) -> str:
    if not re.fullmatch(r"sm_\d{2,3}[af]?", arch):
        raise ValueError(f"arch must name a GPU architecture like 'sm_80' or 'sm_90', "
                         f"not {arch!r}")
    return arch


def check_gpu_rules(module: Module) -> None:
    """Raise UnsupportedError at the first construct a kernel cannot run."""
    entry = module.entry_function
    for t in list(p.type for p in entry.params) + list(entry.result_types):
        if isinstance(t, TapeType):
            raise UnsupportedError(
                f"a GPU kernel cannot take or return a tape ({t}): map `grad` or the "
                f"fused derivative over points, not `vjp`'s split forward graph",
                entry.source or module.source, entry.span)
    for fn in module.functions.values():
        for node in fn.walk():
            if node.op is ops.while_ and any(isinstance(r.type, TapeType)
                                             for r in node.results):
                raise UnsupportedError(
                    "reverse mode through a `while` loop cannot run in a GPU kernel: its "
                    "tape grows while the loop runs, and kernels do not allocate memory",
                    fn.source or module.source, node.span,
                    ("write the loop as `for k in range(bound):` with a bound known when the "
                     "loop starts, its body under `if not done:` (a `break` makes it a while "
                     "loop again); see docs/gpu.md",))


@lru_cache(maxsize=1)
def _libdevice_bitcode() -> bytes:
    return find_libdevice().read_bytes()


@lru_cache(maxsize=64)
def _libdevice_subset(needed: frozenset[str], data_layout: str) -> bytes:
    """libdevice cut down to the functions in `needed` and what they call,
    as bitcode: parsing all of libdevice costs more than compiling most
    programs, and programs use a handful of its ~500 functions."""
    libdevice = llvm.parse_bitcode(_libdevice_bitcode())
    libdevice.triple = TRIPLE
    libdevice.data_layout = data_layout
    for fn in libdevice.functions:
        if not fn.is_declaration and fn.name not in needed:
            fn.linkage = "internal"
    strip = llvm.create_new_module_pass_manager()
    strip.add_global_dead_code_eliminate_pass()
    strip.run(libdevice, llvm.create_pass_builder(
        _target_machine("sm_80"), llvm.create_pipeline_tuning_options()))
    return libdevice.as_bitcode()


def _target_machine(arch: str) -> llvm.TargetMachine:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    return llvm.Target.from_triple(TRIPLE).create_target_machine(cpu=arch, opt=3)


def to_libdevice(text: str) -> str:
    """LLVM IR text with the unselectable math intrinsics and `frem` replaced
    by libdevice calls."""
    text = _INTRINSIC_CALL.sub(lambda m: f"@__nv_{m.group(1)}", text)
    text, count = _FREM.subn(r"\1 = call double @__nv_fmod(double \2, double \3)", text)
    if count:
        text += "\ndeclare double @__nv_fmod(double, double)\n"
    return text


def lower_for_gpu(module: Module, options: Options) -> tuple[str, str, SiteTable, bool]:
    """LLVM IR text of `module` with its kernel; the kernel's name; the
    sites; whether it allocates."""
    check_gpu_rules(module)
    ml = ModuleLowering(module, options, "adjit", TRIPLE)
    ml.runtime = ArenaRuntime(ml.llmod)
    ml.math_symbols = LIBDEVICE_SYMBOLS
    try:
        for fn in module.functions.values():
            FunctionLowering(ml, fn).run()
        kernel = define_kernel(ml, module.entry_function)
    except AdjitError:
        raise
    except Exception as exc:
        raise InternalError(f"{type(exc).__name__}: {exc}", stage="ptx lowering") from exc
    return to_libdevice(str(ml.llmod)), kernel, ml.sites, ml.runtime.allocates


def compile_ptx(module: Module, *, arch: str = DEFAULT_ARCH,
                options: Options | None = None) -> PtxProgram:
    """Compile `module`'s entry function to a PTX kernel for `arch`."""
    check_arch(arch)
    text, kernel, sites, uses_arena = lower_for_gpu(module, options or Options())
    find_libdevice()  # a missing toolkit is an error even when no math is used
    with get_engine().lock:  # LLVM's global context is not thread-safe
        tm = _target_machine(arch)
        try:
            llmod = llvm.parse_assembly(text)
            llmod.verify()
        except RuntimeError as exc:
            raise InternalError(f"invalid LLVM IR: {exc}", stage="ptx") from None
        llmod.triple = TRIPLE
        llmod.data_layout = str(tm.target_data)
        needed = frozenset(fn.name for fn in llmod.functions
                           if fn.is_declaration and fn.name.startswith("__nv_"))
        if needed:
            llmod.link_in(llvm.parse_bitcode(_libdevice_subset(needed, llmod.data_layout)))
        for fn in llmod.functions:
            if not fn.is_declaration and fn.name != kernel:
                fn.linkage = "internal"
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pass_builder = llvm.create_pass_builder(tm, pto)
        pass_builder.getModulePassManager().run(llmod, pass_builder)
        unresolved = [fn.name for fn in llmod.functions
                      if fn.is_declaration and not fn.name.startswith("llvm.")]
        if unresolved:
            raise InternalError(f"functions missing from the PTX module: {unresolved}",
                                stage="ptx")
        ptx = tm.emit_assembly(llmod)
    return PtxProgram(ptx, kernel, arch, sites, module, uses_arena)


def emit_ptx(module: Module, *, arch: str = DEFAULT_ARCH) -> str:
    """The PTX text of `module`: one kernel, `<entry>_kernel`, mapping the
    entry function over points (docs/gpu.md)."""
    return compile_ptx(module, arch=arch).ptx
