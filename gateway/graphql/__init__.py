"""The GraphQL engine and endpoint: the one place that touches Strawberry's internals.

`gateway.schema` declares the types and resolvers with Strawberry's public API; this package
runs them. Each Strawberry step it replaces, with the figure that justifies it ([n] below):

- `Schema.execute`, which wraps every step of every request in extension context managers →
  `execute.Schema.execute`: parse (token limit, cached), operation type, validation (cached by
  query text), cost, graphql-core's `execute`, error masking, as plain code. [1]
- Starlette's router and its exception wrappers in front of `/graphql` → `endpoint.Shortcut`,
  which serves the path ahead of them. [1]
- Strawberry's GraphQL view → `endpoint.GraphQLEndpoint` (GraphQL over HTTP, keys, rate
  limits, timeouts, disconnects), with `request`, `request_json` and `cost`. [5]
- `StrawberryGraphQLCoreExecutionContext.build`, whose variable errors name no field →
  `inputs.InputExecutor`: the variables are coerced once, and checked field by field only
  when that fails. [2]
- graphql-core's `ValuesOfCorrectTypeRule` → `inputs.LiteralValuesRule`, the same rule with
  the code and field path. [2]
- Strawberry's depth and alias limiters, which walk every fragment spread afresh →
  `limits.depth_limit`, `limits.alias_limit`, which measure each fragment once. [3]
- Strawberry's generic conversion of the bill's input → the type definition's `from_input`
  hook, set by `inputs.build_input_with`. [4]
- graphql-core's executor, for the till's trusted documents and the operator's → `plan.Plan`,
  compiled once by `plan_compile` with its variables' coercion by `plan_variables`: the same
  resolvers and the same errors, without the per-field machinery; msgspec encodes every
  response. [6]

[1] The till's read, `bench/read.py` (docs/benchmarks.md, "Benchmark: the till's read"),
    measured before
    (86ec245) and after (576ded8) commit 76a9881, which made both changes together with known
    groups answered without an awaitable and the disconnect watcher started late; 10206f8
    (the Accept header's answer cached) and eee6733 (pooled connections kept open) landed in
    between. No figure isolates one step: the card lookup went from 29% to 31% (31-35% across
    runs) of the cached Strawberry baseline and from 1.41 to 0.81 ms of CPU per request;
    `{ __typename }` through the gateway from 74% to 99% (0.56 to 0.26 ms). Issue 17 gives the
    read path as 0.07x to 0.33x its baseline over its whole history; the 0.07x predates this
    repository's benchmark and is recorded nowhere in it.
[2] Correctness at no cost, not speed: every input error names its field
    (`tests/test_scalars.py`); coercing the variables once (commit f75c9c6) keeps the
    executor at graphql-core's own cost. No benchmark figure.
[3] Safety, not speed: under Strawberry's limiters a kilobyte of nested fragment spreads held
    the event loop for hours (`limits`' docstring, `tests/test_limits.py`). No benchmark figure.
[4] About a sixth of a quote's CPU, from a profile of `bench/quote.py`'s server (commit
    77b8b42); the quote runs at 25-27% of the baseline with it (docs/benchmarks.md, "Benchmark: the
    checkout quote").
[5] Behaviour, not speed: GraphQL over HTTP as `endpoint`'s docstring lists it
    (`tests/test_http.py`). What it saves per request (the disconnect watcher started late,
    the Accept header's answer cached) is inside [1]'s figures.

[6] The quote, `bench/quote.py` (docs/benchmarks.md, "Benchmark: the checkout quote"): the
    server's CPU per quote from 0.89 ms to 0.68 ms, the tree before and after measured one after
    the other; the differential test (`tests/test_plan.py`) holds the plan to graphql-core's
    answers.

`tests/test_graphql_engine.py` pins what these steps rely on in Strawberry and graphql-core,
so that an upgrade that breaks one fails and names the step to revisit.
"""
