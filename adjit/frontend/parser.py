"""Source text -> the syntax tree of `adjit.frontend.syntax`: adjit's entry points.

Lark's LALR parser reads `grammar.lark`, fed by `_Indenter`, a post-lexer that
applies CPython's rules for indentation and brackets; `convert.Converter`
turns the parse tree into syntax dataclasses, rejecting what is outside the
subset; this module assembles modules (imports, constants, functions).

What callers may rely on:
- every node has a Span in the file (1-based lines and columns, end exclusive);
- expressions are at most MAX_EXPR_DEPTH nodes deep and blocks at most
  MAX_INDENT levels, so later stages may recurse over the tree;
- no Lark exception, RecursionError or traceback of adjit escapes: a failure
  is an AdjitSyntaxError (not Python) or UnsupportedError (not adjit's subset)
  at the user's line.
"""
from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import BasicLexer, LexerThread

from adjit.errors import AdjitSyntaxError, SourceFile, Span, UnsupportedError
from adjit.frontend import syntax as S
from adjit.frontend.convert import (MAX_EXPR_DEPTH, STRING_MESSAGE, Converter, Docstring,
                                    token_span, tree_span)

__all__ = ["parse_module", "parse_function_source", "MAX_EXPR_DEPTH", "MAX_INDENT"]

MAX_INDENT = 100  # CPython's limit on indentation levels
# Names accepted as decorators without an import that says they are adjit's.
ADJIT_DECORATOR_NAMES = frozenset({"adjit", "jit", "grad", "value_and_grad", "jvp", "vjp",
                                   "jacfwd", "jacrev", "jacobian", "hessian"})


def parse_module(text: str | bytes, filename: str = "<string>") -> S.Module:
    """Parse a whole module of adjit's subset."""
    source = _source_file(text, filename)
    return _build_module(_parse_tree(source), source)


def parse_function_source(text: str | bytes, filename: str = "<string>", first_line: int = 1,
                          adjit_names: Iterable[str] = ()) -> S.Module:
    """Parse one def as `inspect.getsource` gives it: maybe indented, maybe decorated.

    Returns a Module whose only content is that function. `first_line` is
    the file line of the text's first line. The indentation of the first line
    becomes the base level, so the text need not be dedented and columns stay
    those of the file (textwrap.dedent would shift them, and it fails on a
    docstring line indented less than the def). `adjit_names` adds names that
    refer to adjit or its functions in the function's module (e.g. `aj` after
    `import adjit as aj`), accepted as decorators.
    """
    text = _source_file(text, filename).text
    source = SourceFile(filename, "\n" * (first_line - 1) + text)
    first_code = next((ln for ln in text.splitlines()
                       if ln.strip() and not ln.lstrip().startswith("#")), "")
    base = first_code[:len(first_code) - len(first_code.lstrip(" \t\f"))]
    items = [item for item in _parse_tree(source, base).children if isinstance(item, Tree)]
    if not items:
        raise AdjitSyntaxError("expected a function definition", source, Span(first_line, 1))
    if len(items) > 1 or items[0].data not in ("funcdef", "decorated", "async_stmt"):
        raise UnsupportedError("expected the source of exactly one function definition (`def`)",
                               source, tree_span(items[0]))
    function = Converter(source, ADJIT_DECORATOR_NAMES | set(adjit_names)).convert(items[0])
    return S.Module(source, {function.name: function}, {})


# --- text -> parse tree ---------------------------------------------------------

def _parse_tree(source: SourceFile, base_indent: str = "") -> Tree:
    """Parse `source.text`; `base_indent` is the indentation of its outermost level."""
    lark = _lark()
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    indenter = _Indenter(len(text), base_indent)
    parser = lark.parse_interactive()
    tree = None  # the last token, $END, returns the tree
    try:
        for tok in indenter.process(LexerThread.from_text(_lexer(), text).lex(None)):
            tree = parser.feed_token(tok)
        return tree
    except _TokenError as e:
        raise AdjitSyntaxError(e.message, source, e.span) from None
    except UnexpectedCharacters as e:
        raise _character_error(e, text, source) from None
    except UnexpectedToken as e:
        raise _token_error(e, indenter, source) from None


def _source_file(text: str | bytes, filename: str) -> SourceFile:
    """The text with universal newlines, decoded as CPython decodes source bytes."""
    if isinstance(text, bytes):
        text = _decode(text, filename)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(filename, text)


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _decode(data: bytes, filename: str) -> str:
    """Decode as CPython does: a BOM, else a PEP 263 coding line, else UTF-8."""
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    else:
        for line in data.split(b"\n", 2)[:2]:
            match = _CODING.match(line)
            if match:
                encoding = match.group(1).decode("ascii")
                break
            if line.strip() and not line.lstrip().startswith(b"#"):
                break
    try:
        codecs.lookup(encoding)
    except LookupError:
        source = SourceFile(filename, data.decode("utf-8", "replace"))
        raise AdjitSyntaxError(f"unknown encoding: {encoding}", source, Span(1, 1)) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        line_start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[line_start:e.start].decode(encoding, "replace")) + 1
        source = SourceFile(filename, data.decode(encoding, "replace"))
        raise AdjitSyntaxError(
            f"source is not valid {encoding}: cannot decode byte 0x{data[e.start]:02x} "
            f"({e.reason})",
            source, Span(line, col, line, col + 1)) from None


@functools.cache
def _lark() -> Lark:
    """The parser, built once. It keeps every token so that Converter can
    compute spans itself: Lark's propagate_positions runs on every reduction
    (about five per token) and made parsing three times slower."""
    grammar = Path(__file__).with_name("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="basic", keep_all_tokens=True,
                maybe_placeholders=True)


@functools.cache
def _lexer() -> BasicLexer:
    """The lexer of `_lark()`, built once: `Lark.lex` builds a new one (and
    compiles its regular expressions) on every call when Lark also has a parser."""
    return BasicLexer(_lark().lexer_conf)


def _layout_token(kind: str, after: Token | None) -> Token:
    """An _INDENT, _DEDENT or $END token placed where `after` ends."""
    if after is None:
        return Token(kind, "", 0, 1, 1, 1, 1, 0)
    return Token(kind, "", after.end_pos, after.end_line, after.end_column,
                 after.end_line, after.end_column, after.end_pos)


class _TokenError(Exception):
    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.message, self.span = message, span


_OPENING = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_CLOSING = frozenset({"RPAR", "RSQB", "RBRACE"})


class _Indenter:
    """CPython's tokenizer rules as a post-lexer, one instance per parse.

    Inside brackets newlines vanish; outside, each _NEWLINE is followed by the
    _INDENT/_DEDENT tokens its indentation implies. Tabs advance to the next
    multiple of 8 and, as in CPython, indentation whose meaning would change
    with the tab size is a TabError. Brackets must match; an unclosed one is
    reported at the bracket.
    """

    def __init__(self, text_length: int, base_indent: str = ""):
        self.text_length = text_length
        self.levels = [_measure(base_indent)]
        self.base_width = len(base_indent)
        self.brackets: list[Token] = []

    def process(self, tokens: Iterable[Token]) -> Iterator[Token]:
        last = None
        for tok in tokens:
            if last is None and tok.type != "_NEWLINE" and tok.column - 1 != self.base_width:
                raise _TokenError("unexpected indent", token_span(tok))
            last = tok
            if tok.type == "_NEWLINE":
                if not self.brackets:
                    yield tok
                    yield from self._indentation(tok)
                continue
            if tok.type in _OPENING:
                self.brackets.append(tok)
            elif tok.type in _CLOSING:
                self._close(tok)
            yield tok
        if self.brackets:
            b = self.brackets[-1]
            raise _TokenError(f"unexpected end of file: {b.value!r} opened at {b.line}:{b.column} "
                              "is never closed", token_span(b))
        for _ in self.levels[1:]:
            yield _layout_token("_DEDENT", last)
        yield _layout_token("$END", last)

    def _close(self, tok: Token) -> None:
        if not self.brackets:
            raise _TokenError(f"unmatched {tok.value!r}", token_span(tok))
        opening = self.brackets.pop()
        if _OPENING[opening.type] != tok.value:
            raise _TokenError(f"closing {tok.value!r} does not match opening {opening.value!r} "
                              f"at {opening.line}:{opening.column}", token_span(tok))

    def _indentation(self, newline: Token) -> Iterator[Token]:
        if "\n" not in newline.value or newline.end_pos == self.text_length:
            return  # no line follows (the end of file closes every block)
        col, alt = _measure(newline.value.rsplit("\n", 1)[1])
        span = Span(newline.end_line, newline.end_column, newline.end_line, newline.end_column + 1)
        tab_error = _TokenError("inconsistent use of tabs and spaces in indentation", span)
        if col > self.levels[-1][0]:
            if alt <= self.levels[-1][1]:
                raise tab_error
            if len(self.levels) > MAX_INDENT:
                raise _TokenError(f"too many levels of indentation (limit {MAX_INDENT})", span)
            self.levels.append((col, alt))
            yield _layout_token("_INDENT", newline)
            return
        while len(self.levels) > 1 and col < self.levels[-1][0]:
            self.levels.pop()
            yield _layout_token("_DEDENT", newline)
        if col != self.levels[-1][0]:
            raise _TokenError("unindent does not match any outer indentation level", span)
        if alt != self.levels[-1][1]:
            raise tab_error


def _measure(indent: str) -> tuple[int, int]:
    """Indentation width with tabs to multiples of 8, and with tabs as 1 (CPython's pair)."""
    col = alt = 0
    for ch in indent:
        if ch == "\t":
            col, alt = (col // 8 + 1) * 8, alt + 1
        elif ch == "\f":
            col = alt = 0
        else:
            col, alt = col + 1, alt + 1
    return col, alt


def _character_error(e: UnexpectedCharacters, text: str, source: SourceFile) -> AdjitSyntaxError:
    rest, ch, col = text[e.pos_in_stream:], e.char, e.column
    if ch in "\"'" and text[e.pos_in_stream - 2:e.pos_in_stream] == ch * 2:
        message = "unterminated triple-quoted string literal"  # "" lexed as a string, then "
        col -= 2
    elif ch in "\"'":
        message = "unterminated string literal"
    elif re.match(r"0[0-9_]*[1-9]", rest):
        message = ("leading zeros in decimal integer literals are not permitted; "
                   "use an 0o prefix for octal integers")
    elif ch == "\\":
        message = "unexpected character after line continuation character"
    elif ch == "\0":
        message = "source code cannot contain null bytes"
    elif ch.isascii() and ch.isprintable():
        message = f"invalid syntax: unexpected character {ch!r}"
    else:
        message = f"invalid character {ch!r} (U+{ord(ch):04X})"
    return AdjitSyntaxError(message, source, Span(e.line, col, e.line, col + 1))


_TOKEN_WORDS = {"_NEWLINE": "end of line", "$END": "end of file", "_INDENT": "indent",
                "_DEDENT": "unindent", "NAME": "a name"}


def _token_error(e: UnexpectedToken, indenter: _Indenter, source: SourceFile) -> AdjitSyntaxError:
    tok, expected = e.token, set(e.expected)
    span = token_span(tok)
    if tok.type == "_INDENT":
        message = "unexpected indent"
    elif expected == {"_INDENT"}:
        message = "expected an indented block"
    elif tok.type == "_NEWLINE" and "COLON" in expected:
        message = "expected ':'"
    else:
        found = (f"name {tok.value!r}" if tok.type == "NAME"
                 else _TOKEN_WORDS.get(tok.type, repr(tok.value)))
        message = f"invalid syntax: unexpected {found}"
        terminals = {t.name: t for t in _lark().terminals}
        wanted = sorted(_TOKEN_WORDS.get(name) or repr(terminals[name].pattern.value)
                        for name in expected if name in _TOKEN_WORDS
                        or terminals[name].pattern.type == "str")
        if len(wanted) == len(expected) <= 3:
            message += f"; expected {' or '.join(wanted)}"
    notes = ()
    if indenter.brackets and indenter.brackets[-1].line < tok.line:
        b = indenter.brackets[-1]
        notes = (f"{b.value!r} opened at {b.line}:{b.column} may be missing its closing bracket",)
    return AdjitSyntaxError(message, source, span, notes)


# --- module level ------------------------------------------------------------

_IMPORTS = frozenset({"import_name", "import_from", "relative_import"})
_MODULE_LEVEL = ("only imports, `NAME = constant` assignments, function definitions and an "
                 "`if __name__ == \"__main__\":` block are supported at module level")


def _build_module(tree: Tree, source: SourceFile) -> S.Module:
    """Imports first (they decide which decorators are adjit's), then the rest in order."""
    module = S.Module(source, {}, {})
    converter = Converter(source, set(ADJIT_DECORATOR_NAMES))
    items = [item for item in tree.children if isinstance(item, Tree)]
    for item in items:
        if item.data in _IMPORTS:
            imported = converter.convert(item)
            module.module_aliases.update(imported.module_aliases)
            module.imported_names.update(imported.imported_names)
    converter.adjit_names |= {k for k, v in module.module_aliases.items() if v == "adjit"}
    converter.adjit_names |= {k for k, v in module.imported_names.items() if v[0] == "adjit"}
    for index, item in enumerate(items):
        if item.data in _IMPORTS or _is_main_guard(item):
            continue
        result = converter.convert(item)
        if isinstance(result, S.FunctionDef):
            module.functions[result.name] = result
        elif isinstance(result, S.Assign):
            for target in result.targets:
                if not isinstance(target, S.Name):
                    raise UnsupportedError("a module-level assignment must bind one name to a "
                                           "constant, as in `N = 10`", source, target.span)
            _check_constant(result.value, source)
            for target in result.targets:
                module.constants[target.id] = S.Constant(target.id, result.value, result.span)
        elif isinstance(result, Docstring):
            if index:
                raise UnsupportedError(STRING_MESSAGE.format("string literals"), source,
                                       result.span)
        else:
            raise UnsupportedError(_MODULE_LEVEL, source, result.span)
    return module


def _is_main_guard(item: Tree) -> bool:
    """`if __name__ == "__main__":` (either way round), skipped without a look inside."""
    if item.data != "if_stmt":
        return False
    test = item.children[1]
    if not (isinstance(test, Tree) and test.data == "comparison" and len(test.children) == 3):
        return False
    sides = set()
    for side in (test.children[0], test.children[2]):
        if side.data == "var":
            sides.add(side.children[0].value)
        elif side.data == "string" and len(side.children) == 1:
            text = side.children[0].value
            sides.add(text.strip("'\"") if text[0] in "'\"" else text)
    operator = [t.value for t in test.children[1].children]
    return operator == ["=="] and sides == {"__name__", "__main__"}


def _check_constant(value: S.Expr, source: SourceFile) -> None:
    """Module constants are numeric expressions: literals, names, math.pi, arithmetic, calls."""
    stack = [value]
    while stack:
        e = stack.pop()
        if isinstance(e, S.BinOp):
            stack += [e.left, e.right]
        elif isinstance(e, S.UnaryOp) and e.op != "not":
            stack.append(e.operand)
        elif isinstance(e, S.Call):
            stack += e.args
        elif not isinstance(e, (S.Num, S.Name, S.Attribute)):
            raise UnsupportedError("a module-level constant must be a numeric expression, "
                                   "such as `2 * math.pi`", source, e.span)
