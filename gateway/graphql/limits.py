"""The depth and alias limits, as validation rules whose work grows with the document's size.

A fragment is measured once, after the fragments it spreads, and each spread reuses that
measure: a document whose fragments each spread the one below twice is measured in a step per
fragment, not 2**n, and a chain of hundreds of fragments never recurses once per link. (Walking
every spread afresh, as strawberry's limiters do, lets a one-kilobyte document hold a process's
event loop for hours.) Fragments that spread each other in a cycle count as empty: validation
refuses the cycle. Within one fragment or operation the walk follows the document's nesting,
which the parser bounds.

- Depth: a field nested inside more than `max_depth` fields is refused with
  "'<operation>' exceeds maximum operation depth of <max_depth>", at the first such field.
  Introspection fields count themselves but not what they select: introspection has its own
  rule.
- Aliases: more than `max_aliases` aliased fields in the operations, fragments counted at each
  spread, is refused with "<n> aliases found. Allowed: <max_aliases>".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)


def fragment_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str] | None:
    """Every fragment after all the fragments it spreads; None when spreads form a cycle (which
    validation refuses: nothing need be measured then)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, _spreads(fragments[root].selection_set))]
        open_ = {root}
        while stack:
            name, spreads = stack[-1]
            spread = next(spreads, None)
            if spread is None:
                stack.pop()
                open_.discard(name)
                order.append(name)
            elif spread in open_:
                return None
            elif spread in fragments and spread not in seen:
                seen.add(spread)
                open_.add(spread)
                stack.append((spread, _spreads(fragments[spread].selection_set)))
    return order


def _operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            yield definition


# --- depth ---------------------------------------------------------------------------------------


def _height(selection_set: SelectionSetNode, heights: Mapping[str, int]) -> int:
    """How many levels of fields the selection's deepest path holds."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = selection.selection_set
            introspection = selection.name.value.startswith("__")
            height = 1 if inner is None or introspection else 1 + _height(inner, heights)
        elif isinstance(selection, FragmentSpreadNode):
            height = heights.get(selection.name.value, 0)
        else:
            assert isinstance(selection, InlineFragmentNode)
            height = _height(selection.selection_set, heights)
        deepest = max(deepest, height)
    return deepest


def _first_too_deep(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    heights: Mapping[str, int],
    max_depth: int,
) -> FieldNode | None:
    """Follows a deepest path down to the first field nested in more than `max_depth`."""
    depth = 0
    current: SelectionSetNode | None = selection_set
    while current is not None:
        below, current = current, None
        for selection in below.selections:
            inner: SelectionSetNode | None
            if isinstance(selection, FieldNode):
                if depth > max_depth:
                    return selection
                inner = None if selection.name.value.startswith("__") else selection.selection_set
                if inner is not None and 1 + _height(inner, heights) + depth > max_depth + 1:
                    depth += 1
                    current = inner
                    break
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                inner = fragment.selection_set if fragment else None
            else:
                assert isinstance(selection, InlineFragmentNode)
                inner = selection.selection_set
            if inner is not None and _height(inner, heights) + depth > max_depth + 1:
                current = inner
                break
    return None


def depth_limit(max_depth: int) -> type[ValidationRule]:
    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = fragments_of(context.document)
            heights: dict[str, int] = {}
            for name in fragment_order(fragments) or ():
                heights[name] = _height(fragments[name].selection_set, heights)
            for operation in _operations(context.document):
                if _height(operation.selection_set, heights) <= max_depth + 1:
                    continue
                name = operation.name.value if operation.name else "anonymous"
                found = _first_too_deep(operation.selection_set, fragments, heights, max_depth)
                context.report_error(
                    GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {max_depth}",
                        found or operation,
                    )
                )

    return DepthLimit


# --- aliases -------------------------------------------------------------------------------------


def _aliases(selection_set: SelectionSetNode, counts: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += counts.get(selection.name.value, 0)
            continue
        assert isinstance(selection, FieldNode | InlineFragmentNode)
        if isinstance(selection, FieldNode) and selection.alias is not None:
            total += 1
        if selection.selection_set is not None:
            total += _aliases(selection.selection_set, counts)
    return total


def alias_limit(max_aliases: int) -> type[ValidationRule]:
    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = fragments_of(context.document)
            counts: dict[str, int] = {}
            for name in fragment_order(fragments) or ():
                counts[name] = _aliases(fragments[name].selection_set, counts)
            total = sum(
                _aliases(operation.selection_set, counts)
                for operation in _operations(context.document)
            )
            if total > max_aliases:
                context.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return AliasLimit
