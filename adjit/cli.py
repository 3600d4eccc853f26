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


def example_values(target, args: argparse.Namespace) -> list[Any]:
    from adjit.ir.types import parse_type

    params = [p.name for p in target.definition.params]
    if getattr(args, "types", None):
        values = []
        for t in args.types.split(","):
            t = TYPE_NAMES.get(t.strip(), t.strip())
            try:
                parsed = parse_type(t)
            except ValueError:
                raise UsageError(f"unknown type {t!r} (use f64, i64, bool, array1, array2)") \
                    from None
            if parsed.is_array:
                values.append(np.zeros((1,) * parsed.ndim))
            else:
                values.append({"f64": 1.0, "i64": 1, "bool": True}[str(parsed)])
        return values
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

    if args.format != "text" and args.stage in ("parsed", "llvm", "asm"):
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
    stats: list = []
    from adjit.passes.manager import registry

    for name in args.print_before + args.print_after:
        if name not in registry():
            raise UsageError(f"unknown pass {name!r} (passes: {', '.join(sorted(registry()))})")
    with printing_passes(args.print_before, args.print_after):
        text = dump.render(target, args.stage, args.format, values, wrt_argnums(target, args),
                           passes=args.passes, stats=stats)
    if args.pass_stats:
        print(f"{'pass':<12} {'ms':>8} {'nodes before':>13} {'after':>7}", file=sys.stderr)
        for st in stats:
            print(f"{st.name:<12} {st.seconds * 1e3:8.2f} {st.nodes_before:13d} "
                  f"{st.nodes_after:7d}", file=sys.stderr)
    if args.output:
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(args.output, mode) as f:
            f.write(text)
    else:
        if isinstance(text, bytes) and args.format == "svg":
            text = text.decode()
        if isinstance(text, bytes):
            raise UsageError(f"--format {args.format} is binary: give -o FILE")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


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


@contextlib.contextmanager
def printing_passes(before: list[str], after: list[str]):
    """Make every pipeline run print the IR around the named passes (stderr)."""
    if not before and not after:
        yield
        return
    from adjit.passes import manager

    original = manager.run_pipeline

    def run_pipeline(module, pipeline, **kwargs):
        kwargs.setdefault("print_before", tuple(before))
        kwargs.setdefault("print_after", tuple(after))
        kwargs.setdefault("stream", sys.stderr)
        return original(module, pipeline, **kwargs)

    manager.run_pipeline = run_pipeline
    try:
        yield
    finally:
        manager.run_pipeline = original


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

    dump = sub.add_parser("dump", help="print a compilation stage of a function",
                          description="Print the syntax tree or the IR of FUNC (default: the "
                                      "last function of FILE), specialized on argument types.")
    dump.add_argument("file")
    dump.add_argument("func", nargs="?")
    dump.add_argument("--stage", default="ir",
                      choices=("parsed", "ir", "opt", "jvp", "grad", "fwd", "adj", "llvm",
                               "asm"),
                      help="parsed: the syntax tree; ir: the typed IR as lowered (default); "
                           "opt: after adjit's passes; jvp: forward mode; grad: the fused "
                           "reverse-mode gradient; fwd/adj: the forward and adjoint graphs of "
                           "vjp; llvm/asm: the compiled code")
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
