"""The `adjit` command (also `python -m adjit`).

Exit codes: 0 success; 1 an error in the user's program (printed as
`file:line:col: error: ...` with the source line and a caret); 2 a usage
error; 3 an internal error of adjit (with a request to report it).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from adjit.errors import AdjitError, InternalError

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
TYPE_NAMES = {"f64": "f64", "float": "f64", "i64": "i64", "int": "i64", "bool": "bool",
              "array1": "array<f64,1>", "array2": "array<f64,2>"}


class UsageError(Exception):
    """Bad command-line arguments (exit code 2)."""


def parse_value(text: str) -> Any:
    """A command-line argument: int, float, bool, `1,2,3` (1-D array),
    `1,2;3,4` (2-D array) or a path to a `.npy` file."""
    text = text.strip()
    if text.endswith(".npy"):
        try:
            return np.load(text, allow_pickle=False).astype(np.float64)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read array file {text}: {exc}") from None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        if ";" in text:
            return np.array([[float(v) for v in row.split(",") if v.strip()]
                             for row in text.split(";")], dtype=np.float64)
        if "," in text or text.startswith("["):
            return np.array([float(v) for v in text.strip("[]").split(",") if v.strip()],
                            dtype=np.float64)
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise UsageError(f"cannot read {text!r} as a number, a bool, an array (1,2,3) or a "
                         ".npy file") from None


def parse_arguments(items: Sequence[str], params: list[str]) -> list[Any]:
    """Positional values, or `name=value` pairs for a prefix of the parameters
    (the rest take their defaults)."""
    named: dict[str, Any] = {}
    positional: list[Any] = []
    for item in items:
        name, eq, value = item.partition("=")
        if eq and name.strip().isidentifier():
            if name.strip() not in params:
                raise UsageError(f"no parameter named {name.strip()!r} (parameters: "
                                 f"{', '.join(params)})")
            named[name.strip()] = parse_value(value)
        else:
            positional.append(parse_value(item))
    if named and positional:
        raise UsageError("give arguments either all by position or all as name=value")
    if not named:
        return positional
    missing = [p for p in params[:len(named)] if p not in named]
    if missing:
        raise UsageError(f"missing value for {', '.join(missing)}")
    return [named[p] for p in params[:len(named)]]


def split_at(values: list[str] | None, n_params: int | None = None) -> list[str]:
    """`--at 2,5` (a scalar per parameter), `--at x1=2 x2=5`, or, for a
    function of one parameter, `--at 3,4` (an array)."""
    values = values or []
    if len(values) == 1 and n_params == 1 and "=" not in values[0]:
        return values
    out: list[str] = []
    for v in values:
        if "=" not in v and "," in v and ";" not in v:
            out.extend(p for p in v.split(",") if p)
        else:
            out.append(v)
    return out


def load_target(path: str, func: str | None):
    from adjit.api import resolve_target
    from adjit.frontend.source import scope_for_file

    if not Path(path).is_file():
        raise UsageError(f"no such file: {path}")
    scope = scope_for_file(path)
    names = list(scope.module.functions)
    if func is None:
        if not names:
            raise UsageError(f"{path} defines no function")
        func = names[-1]
    if func not in scope.module.functions:
        raise UsageError(f"{path} defines no function {func!r} (it defines: "
                         f"{', '.join(names) or 'nothing'})")
    return resolve_target((path, func))


def default_types(target) -> list[Any]:
    """Example values giving each parameter its type: f64 unless the default
    literal says otherwise."""
    out = []
    for p in target.definition.params:
        out.append(p.default.value if p.default is not None else 1.0)
    return out


def parse_types(target, specs: Sequence[str]) -> list[Any]:
    """Example values of the types that `--types` gives: `f64,i64,array1`
    (one per parameter) or `NAME=TYPE` items; other parameters as
    `default_types`."""
    from adjit.ir.types import split_top_level

    params = [p.name for p in target.definition.params]
    values = default_types(target)
    for spec in specs:
        name, eq, text = spec.partition("=")
        if eq and name.strip().isidentifier():
            if name.strip() in params:  # else another function's (compile checks the names)
                values[params.index(name.strip())] = example_of_type(text)
            continue
        items = [example_of_type(t) for t in split_top_level(spec) if t.strip()]
        if len(items) != len(params):
            raise UsageError(f"--types {spec}: {target.definition.name}() has {len(params)} "
                             f"parameters ({', '.join(params)}), not {len(items)}")
        values = items
    return values


def example_of_type(text: str) -> Any:
    """A value of the type named `text` (f64, i64, bool, array1, array2, ...)."""
    from adjit.ir.types import parse_type

    t = TYPE_NAMES.get(text.strip(), text.strip())
    try:
        parsed = parse_type(t)
    except ValueError:
        parsed = None
    if str(parsed) not in TYPE_NAMES.values():
        raise UsageError(f"unknown type {t!r} (use f64, i64, bool, array1, array2)")
    if parsed.is_array:
        return np.zeros((1,) * parsed.ndim)
    return {"f64": 1.0, "i64": 1, "bool": True}[str(parsed)]


def example_values(target, args: argparse.Namespace) -> list[Any]:
    params = [p.name for p in target.definition.params]
    if getattr(args, "types", None):
        return parse_types(target, [args.types])
    if getattr(args, "at", None):
        return parse_arguments(split_at(args.at, len(params)), params)
    return default_types(target)


def format_result(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(format_result(v) for v in value) + ")"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=17, separator=", ")
    return repr(value)


# --- subcommands -----------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    target = load_target(args.file, args.func)
    values = parse_arguments(args.args, [p.name for p in target.definition.params])
    check_count(target, values)
    print(format_result(staged_for(target, args)(*values)))
    return EXIT_OK


def check_count(target, values: list[Any]) -> None:
    """Too few or too many arguments is a usage error (exit 2)."""
    params = target.definition.params
    required = sum(1 for p in params if p.default is None)
    if not required <= len(values) <= len(params):
        want = str(len(params)) if required == len(params) else f"{required} to {len(params)}"
        raise UsageError(f"{target.definition.name}() takes {want} arguments "
                         f"({', '.join(p.name for p in params)}), got {len(values)}")


def cmd_dump(args: argparse.Namespace) -> int:
    from adjit import dump

    if args.format != "text" and args.stage in ("parsed", "llvm", "asm", "ptx"):
        raise UsageError(f"the {args.stage} stage is printed as text only (--format text)")
    target = load_target(args.file, args.func)
    values = example_values(target, args)
    if args.stage in ("jvp", "grad", "fwd", "adj"):
        values = floats_for_differentiation(values, wrt_argnums(target, args))
    if args.passes is not None:
        from adjit.passes.manager import parse_pipeline

        try:
            parse_pipeline(args.passes)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if not args.output and args.format == "png":
        raise UsageError(f"--format {args.format} is binary: give -o FILE")
    stats: list = []
    from adjit.passes.manager import registry

    for name in args.print_before + args.print_after:
        if name not in registry():
            raise UsageError(f"unknown pass {name!r} (passes: {', '.join(sorted(registry()))})")
    with printing_passes(args.print_before, args.print_after):
        if args.stage == "ptx":
            module = dump.stage_module(target, "opt", values, passes=args.passes, stats=stats)
            text = ptx_emitter()(module, arch=args.arch)
        else:
            text = dump.render(target, args.stage, args.format, values,
                               wrt_argnums(target, args), passes=args.passes, stats=stats)
    if args.pass_stats:
        print(f"{'pass':<12} {'ms':>8} {'nodes before':>13} {'after':>7}", file=sys.stderr)
        for st in stats:
            print(f"{st.name:<12} {st.seconds * 1e3:8.2f} {st.nodes_before:13d} "
                  f"{st.nodes_after:7d}", file=sys.stderr)
    if not args.output and isinstance(text, bytes):  # svg: text after all
        text = text.decode()
    return write_output(args.output, text)


def wrt_argnums(target, args: argparse.Namespace) -> list[int] | None:
    """`--wrt x1,x2` as parameter positions (None: every float parameter)."""
    names = [p.name for p in target.definition.params]
    if not getattr(args, "wrt", None):
        return None
    out = []
    for name in args.wrt.split(","):
        name = name.strip()
        if name not in names:
            raise UsageError(f"--wrt: no parameter named {name!r} (parameters: "
                             f"{', '.join(names)})")
        out.append(names.index(name))
    return out


def floats_for_differentiation(values: list[Any], wrt: list[int] | None) -> list[Any]:
    """Integers written at the point are floats where they are differentiated:
    the --wrt parameters, or every number when none of them is a float
    (`--at 2,5` means the point (2.0, 5.0))."""
    values = list(values)
    if wrt is None and not any(isinstance(v, (float, np.ndarray)) for v in values):
        wrt = list(range(len(values)))
    for k in wrt or []:
        if k < len(values) and isinstance(values[k], int) and not isinstance(values[k], bool):
            values[k] = float(values[k])
    return values


def point(target, args: argparse.Namespace) -> tuple[list[Any], list[int]]:
    """The values of `--at` and the positions to differentiate."""
    if not args.at:
        raise UsageError("give the point with --at, e.g. --at 2,5 or --at x1=2 x2=5")
    params = [p.name for p in target.definition.params]
    values = parse_arguments(split_at(args.at, len(params)), params)
    check_count(target, values)
    from adjit.api import is_differentiable, type_of

    wrt = wrt_argnums(target, args)
    values = floats_for_differentiation(values, wrt)
    if wrt is None:
        wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))]
    if not wrt:
        raise UsageError("no float argument to differentiate (write 2.0, not 2)")
    for k in wrt:
        if k >= len(values):
            raise UsageError(f"--wrt {target.definition.params[k].name}: no value given for it")
    return values, wrt


def staged_for(target, args: argparse.Namespace):
    from adjit.api import Staged

    return Staged(target, backend="interp" if getattr(args, "interp", False) else "native")


def cmd_grad(args: argparse.Namespace) -> int:
    import adjit

    target = load_target(args.file, args.func)
    values, wrt = point(target, args)
    f = staged_for(target, args)
    if args.mode == "reverse":
        value, grads = adjit.value_and_grad(f, argnums=tuple(wrt))(*values)
    else:
        value = f(*values)
        jac = adjit.jacfwd(f, argnums=tuple(wrt))(*values)
        grads = jac if isinstance(jac, tuple) else (jac,)
    names = [target.definition.params[k].name for k in wrt]
    print(f"value: {format_result(value)}")
    for name, g in zip(names, grads):
        print(f"d/d{name}: {format_result(g)}")
    return EXIT_OK


def cmd_jacobian(args: argparse.Namespace) -> int:
    import adjit

    target = load_target(args.file, args.func)
    values, wrt = point(target, args)
    f = staged_for(target, args)
    jacobian = {"forward": adjit.jacfwd, "reverse": adjit.jacrev}.get(args.mode, adjit.jacobian)
    jac = jacobian(f, argnums=tuple(wrt))(*values)
    names = [target.definition.params[k].name for k in wrt]
    several = isinstance(f(*values), tuple)
    per_output = list(jac) if several else [jac]  # [result][argument]
    for k, name in enumerate(names):
        column = tuple(by_argument[k] for by_argument in per_output)
        shown = format_result(column) if several else format_result(column[0])
        print(f"d/d{name}:\n{shown}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    import adjit

    target = load_target(args.file, args.func)
    values, wrt = point(target, args)
    report = adjit.check_grad(staged_for(target, args), *values, argnums=tuple(wrt))
    for key in ("reverse_vs_fd", "forward_vs_fd", "forward_vs_reverse"):
        print(f"{key.replace('_', ' ')}: {report[key]:.3e}")
    ok = max(report["reverse_vs_fd"], report["forward_vs_fd"]) <= args.tolerance
    print("ok" if ok else f"FAILED: errors above {args.tolerance:g}")
    return EXIT_OK if ok else EXIT_USER


def cmd_trace(args: argparse.Namespace) -> int:
    from adjit.trace import trace

    target = load_target(args.file, args.func)
    values, wrt = point(target, args)
    if args.mode == "forward" and not args.wrt:
        wrt = wrt[:1]
    print(trace(staged_for(target, argparse.Namespace(interp=True)), *values, mode=args.mode,
                wrt=wrt))
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    target_kind = args.target or ("ptx" if args.emit == "ptx" else "cpu")
    emit = args.emit or ("ptx" if target_kind == "ptx" else "obj")
    if (emit == "ptx") != (target_kind == "ptx"):
        raise UsageError(f"--target {target_kind} cannot emit {emit} (cpu: llvm, asm, obj; "
                         "ptx: ptx)")
    if emit == "obj" and not args.output:
        raise UsageError("--emit obj writes a binary object file: give -o FILE.o")
    if args.output and args.output.endswith(".h"):
        raise UsageError("-o names the object file; the header is written beside it (.h)")
    if not Path(args.file).is_file():
        raise UsageError(f"no such file: {args.file}")
    names = args.funcs or [None]
    targets = [load_target(args.file, name) for name in names]
    params = {p.name for t in targets for p in t.definition.params}
    named = [spec.partition("=")[0].strip() for spec in args.types or [] if "=" in spec]
    for name in named + (args.wrt.split(",") if args.wrt else []):
        if name not in params:
            raise UsageError(f"no compiled function has a parameter named {name!r} "
                             f"(parameters: {', '.join(sorted(params))})")
    exports = []
    for target in targets:
        exports.extend(compile_exports(target, args))
    if target_kind == "ptx":
        return write_ptx(exports, args.output, args.arch)
    from adjit.backend.llvm.aot import ObjectCode

    try:
        code = ObjectCode(exports, prefix=args.prefix)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    output = {"llvm": lambda: code.llvm_ir, "asm": code.assembly, "obj": code.object_code}
    write_output(args.output, output[emit]())
    if args.output:
        header = str(Path(args.output).with_suffix(".h"))
        guard = "".join(c if c.isalnum() else "_" for c in Path(header).name.upper())
        write_output(header, code.header(guard))
        print(f"wrote {args.output} and {header}")
    return EXIT_OK


def compile_exports(target, args: argparse.Namespace) -> list:
    """The functions `adjit compile` exports for one FUNC: it, and its gradient."""
    from adjit import dump
    from adjit.api import is_differentiable, type_of
    from adjit.backend.llvm.aot import Export

    fn_name = target.definition.name
    values = parse_types(target, args.types or [])
    module = dump.stage_module(target, "opt", values)
    params = [p.name for p in target.definition.params]
    n = len(module.entry_function.returned_types)
    signature = ", ".join(f"{p}: {type_of(v)}" for p, v in zip(params, values))
    exports = [Export(args.prefix + fn_name, module,
                      ["result"] if n == 1 else [f"result{k}" for k in range(n)],
                      f"{fn_name}({signature}) of {Path(args.file).name}")]
    if args.grad:
        wanted = args.wrt.split(",") if args.wrt else None
        wrt = [k for k, v in enumerate(values) if is_differentiable(type_of(v))
               and (wanted is None or params[k] in wanted)]
        if not wrt:
            raise UsageError(f"{fn_name}() has no float parameter to differentiate"
                             + (f" among --wrt {args.wrt}" if wanted else ""))
        grad = dump.stage_module(target, "grad", values, wrt)
        exports.append(Export(f"{args.prefix}{fn_name}_grad", grad,
                              [f"d_{params[k]}" for k in wrt],
                              f"the gradient of {fn_name} with respect to "
                              f"{', '.join(params[k] for k in wrt)}"))
    return exports


def write_ptx(exports: list, output: str | None, arch: str) -> int:
    """One PTX module per exported function (the PTX backend makes a module's
    entry function a kernel): to OUT, or for several to OUT's stem + .FUNC.ptx."""
    emit_ptx = ptx_emitter()
    if len(exports) > 1 and not output:
        raise UsageError("several functions make several PTX modules: give -o OUT.ptx (they "
                         "are written to OUT.FUNC.ptx)")
    texts = [emit_ptx(e.module, arch=arch) for e in exports]
    if len(texts) == 1:
        return write_output(output, texts[0])
    stem = Path(output).with_suffix("")
    paths = [f"{stem}.{e.symbol}.ptx" for e in exports]
    for path, text in zip(paths, texts):
        write_output(path, text)
    print(f"wrote {', '.join(paths)}")
    return EXIT_OK


def ptx_emitter():
    """adjit.backend.ptx.emit_ptx, imported only when PTX is asked for."""
    try:
        from adjit.backend.ptx import emit_ptx
    except ImportError:
        raise UsageError("this adjit has no PTX backend (adjit.backend.ptx.emit_ptx is "
                         "missing)") from None
    return emit_ptx


def write_output(path: str | None, data: str | bytes) -> int:
    """`data` to the file `path`, or text to standard output."""
    if path:
        try:
            with open(path, "wb" if isinstance(data, bytes) else "w") as out:
                out.write(data)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    else:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")
    return EXIT_OK


@contextlib.contextmanager
def printing_passes(before: list[str], after: list[str]):
    """Make every pipeline run print the IR around the named passes (stderr)."""
    from adjit.passes.manager import PRINT_AROUND

    token = PRINT_AROUND.set((frozenset(before), frozenset(after)))
    try:
        yield
    finally:
        PRINT_AROUND.reset(token)


def cmd_demo(args: argparse.Namespace) -> int:
    from adjit import demo

    demo.run(sys.stdout)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from adjit import __version__

    parser = argparse.ArgumentParser(
        prog="adjit", description="Compile and differentiate numerical Python functions.")
    parser.add_argument("--version", action="version", version=f"adjit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="the built-in example end to end",
                          description="Parse, lower and evaluate the textbook function "
                                      "f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5).")
    demo.set_defaults(handler=cmd_demo)

    run = sub.add_parser("run", help="run a function of a .py file",
                         description="Run FUNC of FILE on the given arguments. Arguments are "
                                     "numbers, true/false, arrays as 1,2,3 (rows separated "
                                     "by ;) or .npy files; positional or name=value.")
    run.add_argument("file")
    run.add_argument("func")
    run.add_argument("args", nargs="*")
    run.add_argument("--interp", action="store_true", help="use the reference interpreter")
    run.set_defaults(handler=cmd_run)

    def differentiation_args(p: argparse.ArgumentParser, modes: tuple[str, ...]) -> None:
        p.add_argument("file")
        p.add_argument("func")
        p.add_argument("--at", nargs="+", metavar="VALUE", required=True,
                       help="the point: 2,5 or x1=2 x2=5 (arrays as 1,2,3 or .npy files)")
        p.add_argument("--wrt", help="parameters to differentiate, e.g. x1,x2 (default: every "
                                     "float parameter)")
        p.add_argument("--mode", choices=modes, default=modes[0])
        p.add_argument("--interp", action="store_true", help="use the reference interpreter")

    grad = sub.add_parser("grad", help="value and gradient of a function at a point",
                          description="Print the value of FUNC and its derivatives with "
                                      "respect to the --wrt parameters at --at.")
    differentiation_args(grad, ("reverse", "forward"))
    grad.set_defaults(handler=cmd_grad)

    jacobian = sub.add_parser("jacobian", help="Jacobian of a function at a point",
                              description="Print the Jacobian of FUNC at --at (auto: forward "
                                          "mode when there are more outputs than inputs).")
    differentiation_args(jacobian, ("auto", "forward", "reverse"))
    jacobian.set_defaults(handler=cmd_jacobian)

    check = sub.add_parser("check", help="gradient check: reverse, forward, finite differences",
                           description="Compare reverse mode, forward mode and central finite "
                                       "differences at --at; exit 1 if they disagree.")
    differentiation_args(check, ("all",))
    check.add_argument("--tolerance", type=float, default=1e-6,
                       help="largest relative error accepted (default 1e-6)")
    check.set_defaults(handler=cmd_check)

    trace = sub.add_parser("trace", help="evaluation trace tables, as AD is taught",
                           description="Print the forward primal trace beside the forward "
                                       "tangent trace (--mode forward, seeding the first "
                                       "float parameter or --wrt), or followed by the reverse "
                                       "adjoint trace (--mode reverse).")
    differentiation_args(trace, ("forward", "reverse"))
    trace.set_defaults(handler=cmd_trace)

    compile_ = sub.add_parser(
        "compile", help="ahead-of-time object file and C header",
        description="Compile FUNC (default: the last function of FILE), and with --grad its "
                    "gradient, to LLVM IR, assembly or an object file with a C header "
                    "(OUT with .h) that declares the C calling convention; or to PTX.")
    compile_.add_argument("file")
    compile_.add_argument("funcs", nargs="*", metavar="func")
    compile_.add_argument("--grad", action="store_true",
                          help="also export FUNC_grad, the reverse-mode gradient")
    compile_.add_argument("--wrt", help="parameters the gradient is taken with respect to "
                                        "(default: every float parameter)")
    compile_.add_argument("--types", nargs="+", metavar="TYPES",
                          help="parameter types: f64,i64,array1 (one per parameter) or "
                               "NAME=TYPE items (default: f64, or the default value's type)")
    compile_.add_argument("--target", choices=("cpu", "ptx"),
                          help="cpu (the host, default) or ptx (NVIDIA GPUs)")
    compile_.add_argument("--emit", choices=("llvm", "asm", "obj", "ptx"),
                          help="what to write (default: obj for cpu, ptx for ptx)")
    compile_.add_argument("--prefix", default="",
                          help="prepended to every exported C name (default: none)")
    compile_.add_argument("--arch", default="sm_80", help="the GPU architecture for PTX "
                                                          "(default sm_80)")
    compile_.add_argument("-o", "--output", help="the output file (required for obj; the "
                                                 "header goes beside it)")
    compile_.set_defaults(handler=cmd_compile)

    dump = sub.add_parser("dump", help="print a compilation stage of a function",
                          description="Print the syntax tree or the IR of FUNC (default: the "
                                      "last function of FILE), specialized on argument types.")
    dump.add_argument("file")
    dump.add_argument("func", nargs="?")
    dump.add_argument("--stage", default="ir",
                      choices=("parsed", "ir", "opt", "jvp", "grad", "fwd", "adj", "llvm",
                               "asm", "ptx"),
                      help="parsed: the syntax tree; ir: the typed IR as lowered (default); "
                           "opt: after adjit's passes; jvp: forward mode; grad: the fused "
                           "reverse-mode gradient; fwd/adj: the forward and adjoint graphs of "
                           "vjp; llvm/asm: the compiled code; ptx: PTX for NVIDIA GPUs")
    dump.add_argument("--passes", metavar="PIPELINE",
                      help="pass pipeline replacing adjit's, e.g. inline,fold,cse,dce")
    dump.add_argument("--pass-stats", action="store_true",
                      help="print each pass's time and node counts to standard error")
    dump.add_argument("--print-before", metavar="PASS", action="append", default=[],
                      help="print the IR before each run of PASS to standard error")
    dump.add_argument("--print-after", metavar="PASS", action="append", default=[],
                      help="print the IR after each run of PASS to standard error")
    dump.add_argument("--wrt", help="parameters to differentiate for the AD stages")
    dump.add_argument("--format", default="text", choices=("text", "json", "graphml", "dot",
                                                           "svg", "png"))
    dump.add_argument("--at", nargs="+", metavar="VALUE",
                      help="example arguments that fix the parameter types (2,5 or x1=2 x2=5)")
    dump.add_argument("--types", help="parameter types, e.g. f64,i64,array1")
    dump.add_argument("--arch", default="sm_80", help="the GPU architecture of --stage ptx "
                                                      "(default sm_80)")
    dump.add_argument("-o", "--output", help="write to this file instead of standard output")
    dump.set_defaults(handler=cmd_dump)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"adjit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InternalError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INTERNAL
    except AdjitError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USER
    except (ArithmeticError, ValueError, IndexError, TypeError, NameError) as exc:
        # Exceptions the user's program raises when run (as CPython would).
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USER
    except RecursionError:
        print("adjit: internal error: recursion too deep; this is a bug in adjit, please "
              "report it with the program that triggered it", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception:  # noqa: BLE001 - the last line of defence
        traceback.print_exc()
        print("adjit: internal error; this is a bug in adjit, please report it with the "
              "program that triggered it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
