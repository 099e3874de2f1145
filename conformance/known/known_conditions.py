"""A declared divergence's condition: checked when the file is read, evaluated over an
example's facts, and widened where a case the suite produced shows the cause reaches further.

A condition is an expression over the names of conformance/known/facts.py (`masked and not
unroll and states > 0`): and/or/not, comparisons and constants, nothing else, so that
evaluating it can only read facts. Most conditions are a conjunction; `false_parts` names
the conjuncts an example contradicts (what "resembles" prints) and `widened` rewrites the
condition so that it also holds for that example and for nothing its conjuncts did not
already allow along the other facts (what `rnn-conformance known update` writes).
"""

import ast
import json

from cells.case_fields import short
from conformance.known.facts import FACT_NAMES

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare, ast.Name, ast.Load,
    ast.Constant, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Tuple,
)


class ConditionError(ValueError):
    """The condition is not an expression of the allowed form (the caller names the entry)."""


def compiled(text):
    """The condition as code to `holds`; raises ConditionError."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ConditionError(f"condition {short(text)} is not an expression") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConditionError(f"condition {short(text)} uses {type(node).__name__}; only and/or/not, comparisons and fact names")
        if isinstance(node, ast.Name) and node.id not in FACT_NAMES:
            raise ConditionError(f"condition {short(text)} names unknown fact {short(node.id)}; facts: {', '.join(sorted(FACT_NAMES))}")
    return compile(tree, "<condition>", "eval")


def holds(code, facts):
    return bool(eval(code, {"__builtins__": {}}, facts))  # noqa: S307 - validated AST (`compiled`)


def _conjuncts(text):
    """[(source text, code)] of the top-level conjuncts (the whole condition where it is not
    an `and`); an `or` among them keeps its parentheses, so the texts join with " and "."""
    body = ast.parse(text, mode="eval").body
    parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    found = []
    for part in parts:
        source = ast.get_source_segment(text, part)
        if isinstance(part, ast.BoolOp) and len(parts) > 1:
            source = f"({source})"
        found.append((source, compile(ast.Expression(part), "<conjunct>", "eval")))
    return found


def false_parts(text, facts):
    """The conjuncts of the condition these facts make false, each with the facts it reads:
    ["`not zero_output_for_mask` (zero_output_for_mask = True)", ...]."""
    found = []
    for source, code in _conjuncts(text):
        if not holds(code, facts):
            names = sorted(set(code.co_names))
            found.append(f"`{source}` ({', '.join(f'{n} = {facts.get(n)!r}' for n in names)})")
    return found


def widened(text, facts):
    """The condition widened to hold for these facts, or None when it would hold for
    everything. Each false conjunct `c` becomes `(c or <these facts' values of its
    names>)`; a conjunct about one yes/no fact is dropped instead (`c or not c`). So the
    region grows by exactly what this example shows along the facts the condition reads."""
    kept = []
    for source, code in _conjuncts(text):
        if holds(code, facts):
            kept.append(source)
            continue
        names = sorted(set(code.co_names))
        if len(names) == 1 and isinstance(facts.get(names[0]), bool):
            continue
        kept.append(f"({source} or {' and '.join(_clause(name, facts.get(name)) for name in names)})")
    return " and ".join(kept) or None


def _clause(name, value):
    if isinstance(value, bool):
        return name if value else f"not {name}"
    return f"{name} == {json.dumps(value) if isinstance(value, str) else repr(value)}"
