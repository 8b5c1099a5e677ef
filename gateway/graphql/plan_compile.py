"""Compiling a trusted document into its plan (`gateway.graphql.plan`): selection sets merged
through their fragments as graphql-core collects them, and each field's type turned into a chain
of completion functions that do what graphql-core's `complete_value` does for that type."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from strawberry.execution.is_awaitable import optimized_is_awaitable as is_awaitable

from gateway.graphql.plan import (
    Completer,
    FieldPlan,
    Plan,
    Run,
    UnplannableError,
    gathered,
    settle_in_background,
)
from gateway.graphql.plan_variables import variables_coercer


def compile_plan(schema: GraphQLSchema, document: DocumentNode) -> Plan:
    """The plan of a valid document's one operation; `UnplannableError` says what it holds that the
    plan leaves to graphql-core."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise UnplannableError("a document with one operation")
    operation = operations[0]
    if operation.directives:
        raise UnplannableError("a directive on the operation")
    root = schema.get_root_type(operation.operation)
    if root is None or operation.operation is OperationType.SUBSCRIPTION:
        raise UnplannableError("a query or a mutation")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fields = _selection(schema, fragments, root, [operation.selection_set])
    return Plan(
        name=operation.name.value if operation.name else None,
        operation=operation,
        fragments=fragments,
        root=root,
        fields=fields,
        serial=operation.operation is OperationType.MUTATION,
        variables=variables_coercer(schema, operation.variable_definitions or ()),
    )


def _collected(
    parent: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
) -> dict[str, list[FieldNode]]:
    """The fields of selection sets by response key, as graphql-core collects them: in order,
    through fragments (each once), the nodes of one key together."""
    found: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise UnplannableError("a directive on a selection")
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                found.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != parent.name:
                    raise UnplannableError("a fragment on another type")
                walk(selection.selection_set)
                continue
            assert isinstance(selection, FragmentSpreadNode)
            name = selection.name.value
            if name in visited:
                continue
            visited.add(name)
            fragment = fragments[name]
            if fragment.variable_definitions or fragment.directives:
                raise UnplannableError("a fragment with variables or directives")
            if fragment.type_condition.name.value != parent.name:
                raise UnplannableError("a fragment on another type")
            walk(fragment.selection_set)

    for selection_set in selection_sets:
        walk(selection_set)
    return found


def _selection(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    parent: GraphQLObjectType,
    sets: Iterable[SelectionSetNode],
) -> tuple[FieldPlan, ...]:
    if parent.is_type_of is not None:
        raise UnplannableError(f"{parent.name} checks its values' type")
    plans = []
    for key, nodes in _collected(parent, sets, fragments).items():
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        if name.startswith("__") or definition is None:
            raise UnplannableError(f"the field {parent.name}.{name}")
        attribute = _basic_attribute(definition)
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            raise UnplannableError(f"the abstract type {named}")
        subfields = [node.selection_set for node in nodes if node.selection_set is not None]
        selection = (
            _selection(schema, fragments, named, subfields)
            if isinstance(named, GraphQLObjectType)
            else ()
        )
        has_arguments = bool(definition.args or nodes[0].arguments)
        plans.append(
            FieldPlan(
                key=key,
                parent=parent,
                name=name,
                definition=definition,
                nodes=nodes,
                attribute=attribute,
                arguments=has_arguments,
                complete=_completer(definition.type, selection),
                selection=selection,
                leaf=attribute is not None and _is_leaf(definition.type),
            )
        )
    return tuple(plans)


def _basic_attribute(definition: GraphQLField) -> str | None:
    """The attribute a Strawberry basic field reads (`StrawberryField.get_result` with the
    default resolver, `getattr`); None for a field with a resolver of its own."""
    if not getattr(definition.resolve, "_is_default", False):
        return None
    field = (definition.extensions or {}).get("strawberry-definition")
    if field is None or field.base_resolver is not None or field.default_resolver is not getattr:
        return None
    name: str = field.python_name
    return name


def _is_leaf(type_: GraphQLOutputType) -> bool:
    """A scalar or an enum, non-null or not (not a list of them)."""
    nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(nullable, GraphQLLeafType)


def _completer(type_: GraphQLOutputType, selection: tuple[FieldPlan, ...]) -> Completer:
    """graphql-core's `complete_value` for `type_`, decided once."""
    if isinstance(type_, GraphQLNonNull):
        if isinstance(type_.of_type, GraphQLLeafType):
            return _non_null_leaf(type_.of_type)
        return _non_null(_completer(type_.of_type, selection))
    if isinstance(type_, GraphQLList):
        return _list(type_.of_type, _completer(type_.of_type, selection))
    if isinstance(type_, GraphQLLeafType):
        return _leaf(type_)
    if isinstance(type_, GraphQLObjectType):
        return _object(selection)
    raise UnplannableError(f"the abstract type {type_}")  # `_selection` refuses it first


def _null_error(field: FieldPlan) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {field.parent}.{field.name}.")


def _coerced(type_: GraphQLLeafType, value: Any) -> Any:
    coerced = type_.coerce_output_value(value)
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect(type_)}.coerce_output_value({inspect(value)})` to return"
            f" non-nullable value, returned: {inspect(coerced)}"
        )
    return coerced


def _non_null(inner: Completer) -> Completer:
    def complete(run: Run, field: FieldPlan, path: Path | None, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        completed = inner(run, field, path, value)
        if completed is None:
            raise _null_error(field)
        return completed

    return complete


def _non_null_leaf(type_: GraphQLLeafType) -> Completer:
    coerce = type_.coerce_output_value

    def complete(run: Run, field: FieldPlan, path: Path | None, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            raise _null_error(field)
        coerced = coerce(value)
        return _coerced(type_, value) if coerced is Undefined or coerced is None else coerced

    return complete


def _leaf(type_: GraphQLLeafType) -> Completer:
    def complete(run: Run, field: FieldPlan, path: Path | None, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        return _coerced(type_, value)

    return complete


def _object(fields: tuple[FieldPlan, ...]) -> Completer:
    def complete(run: Run, field: FieldPlan, path: Path | None, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        return run.fields(fields, value, path)

    return complete


def _list(item_type: GraphQLOutputType, inner: Completer) -> Completer:
    """graphql-core's `complete_list_value`: each item completed, an item's error handled at
    its index, awaitable items gathered."""

    def complete(run: Run, field: FieldPlan, path: Path | None, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{field.parent}.{field.name}'."
            )
        assert path is not None  # a list is never a root's leaf
        completed: list[Any] = []
        pending: list[int] = []
        try:
            for index, item in enumerate(value):
                item_path = path.add_key(index, None)
                if is_awaitable(item):
                    completed.append(_item_awaited(run, field, item_type, inner, item_path, item))
                    pending.append(index)
                    continue
                try:
                    done = inner(run, field, item_path, item)
                    if is_awaitable(done):
                        done = _item_completed(run, field, item_type, item_path, done)
                        pending.append(index)
                except Exception as raw:
                    run.field_error(raw, item_type, field, item_path)
                    done = None
                completed.append(done)
        except Exception:
            if pending:
                settle_in_background([completed[index] for index in pending])
            raise
        if not pending:
            return completed
        return gathered(completed, pending)

    return complete


async def _item_awaited(
    run: Run,
    field: FieldPlan,
    item_type: GraphQLOutputType,
    inner: Completer,
    path: Path,
    item: Awaitable[Any],
) -> Any:
    try:
        completed = inner(run, field, path, await item)
        if is_awaitable(completed):
            completed = await completed
    except Exception as raw:
        run.field_error(raw, item_type, field, path)
        return None
    return completed


async def _item_completed(
    run: Run, field: FieldPlan, item_type: GraphQLOutputType, path: Path, done: Awaitable[Any]
) -> Any:
    try:
        return await done
    except Exception as raw:
        run.field_error(raw, item_type, field, path)
        return None
