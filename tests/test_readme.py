"""The README's GraphQL walkthrough, and its integrations and checkout steps after it, run as
written against a freshly seeded demo; the README keeps the order and size a newcomer needs.

The convention: numbered ("**N.**") ```graphql blocks, each optionally followed by a ```json
block of variables whose `<FIELD from step N>` (the one FIELD in step N's answer) and
`<id of NAME from step N>` (the id of the object in step N's answer with a field equal to NAME)
placeholders are filled from earlier answers, and paragraphs starting with `→` whose backticked
`"key": value` spans must each match one object in the answer. Every answer must have no GraphQL
errors, and every entry of a payload's `errors` must be one that a → span of the step matches.
Each walkthrough block names its operation and is the text of the trusted document
`gateway/graphql/documents/walkthrough/NAME.graphql`, which the shipped manifest lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.goorder.simulator import create_goorder_simulator
from adapters.gopos.simulator import create_gopos_simulator
from gateway.app import DEMO_SIMULATORS, create_app
from gateway.graphql.trusted import DOCUMENTS, document, trusted_documents
from gateway.runtime import build_runtime, close_runtime
from models.tables.crm import Location
from services.demo import DemoLocation, demo_fixture, seed_demo
from services.runtime import Runtime
from settings import Settings
from tasks.inprocess import InProcessDispatcher
from tests.helpers import Api, Clock

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WALKTHROUGH_DOCUMENTS = DOCUMENTS / "walkthrough"
START = "<!-- walkthrough:"
END = "<!-- end of walkthrough -->"
INTEGRATIONS_START = "<!-- integrations:"
INTEGRATIONS_END = "<!-- end of integrations -->"
# Where `gocrm demo` serves its simulators, as the README's integration steps name them.
DEMO_BASE_URL = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
BACKTICKED = re.compile(r"`([^`]+)`")
FROM_STEP = re.compile(r"<(\w+) from step (\d+)>")
ID_OF = re.compile(r"<id of (.+) from step (\d+)>")


@dataclass(frozen=True)
class Step:
    number: int
    document: str
    variables: Any  # JSON with placeholders
    claims: tuple[dict[str, Any], ...]


def walkthrough(readme: str, start_marker: str = START, end_marker: str = END) -> str:
    start = readme.index(start_marker)
    return COMMENT.sub("", readme[start : readme.index(end_marker, start)])


def integration_steps(readme: str) -> str:
    return walkthrough(readme, INTEGRATIONS_START, INTEGRATIONS_END)


def parse_steps(text: str, first: int = 1) -> list[Step]:
    """The numbered graphql blocks of the walkthrough text, with their variables and claims;
    the first is numbered `first`."""
    steps: list[Step] = []
    blocks = list(FENCE.finditer(text))
    for index, block in enumerate(blocks):
        language, body = block.groups()
        if language != "graphql":
            assert language == "json", f"unexpected ```{language} block in the walkthrough"
            continue
        number = len(steps) + first
        before = text[blocks[index - 1].end() if index else 0 : block.start()]
        assert f"**{number}.**" in before, f"the text before graphql block {number} misnumbers it"
        variables: Any = {}
        end = block.end()
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following and following.group(1) == "json" and not text[end : following.start()].strip():
            variables = json.loads(following.group(2))
            end = following.end()
        later = [b for b in blocks[index + 1 :] if b.group(1) == "graphql"]
        after = text[end : later[0].start() if later else len(text)]
        steps.append(Step(number, body, variables, tuple(claims_in(after))))
    return steps


def claims_in(text: str) -> Iterator[dict[str, Any]]:
    """Each backticked `"key": value, ...` span of the paragraphs that start with →."""
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip().startswith("→"):
            for span in BACKTICKED.findall(paragraph):
                if span.startswith('"'):
                    claim: dict[str, Any] = json.loads("{" + span + "}")
                    yield claim


def objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside an answer, the answer included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def holds(claim: dict[str, Any], answer: Any) -> bool:
    return any(
        all(key in found and found[key] == wanted for key, wanted in claim.items())
        for found in objects(answer)
    )


def fill(value: Any, answers: dict[int, Any]) -> Any:
    """Variables with every placeholder replaced by the value it names in an earlier answer."""
    if isinstance(value, dict):
        return {key: fill(item, answers) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, answers) for item in value]
    if not isinstance(value, str):
        return value
    if match := ID_OF.fullmatch(value):
        name, step = match.group(1), int(match.group(2))
        ids = [o["id"] for o in objects(answers[step]) if "id" in o and name in o.values()]
        assert len(ids) == 1, f"{value}: step {step} answered {len(ids)} matching ids"
        return ids[0]
    if match := FROM_STEP.fullmatch(value):
        field, step = match.group(1), int(match.group(2))
        found = [o[field] for o in objects(answers[step]) if field in o]
        assert len(found) == 1, f"{value}: step {step} answered {len(found)} values of {field}"
        return found[0]
    assert not value.startswith("<"), f"unknown placeholder {value}"
    return value


def shown(answer: Any) -> str:
    text = json.dumps(answer, ensure_ascii=False)
    return text if len(text) <= 2_000 else text[:2_000] + " …"


def payload_errors(answer: dict[str, Any]) -> list[Any]:
    """The `errors` of every mutation payload in an answer."""
    return [
        e
        for payload in answer.values()
        if isinstance(payload, dict)
        for e in payload.get("errors", [])
    ]


@pytest.fixture
async def demo(database: Settings, runtime: Runtime) -> AsyncIterator[DemoLocation]:
    seeded = await seed_demo(runtime)
    yield seeded
    # The session database is shared: leave no demo schedule behind for other tests.
    await Location.filter(id=seeded.location_id).delete()


async def run_steps(
    admin: Api,
    steps: list[Step],
    answers: dict[int, Any],
    after_each: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Each step as a reader pastes it, checked against what the README claims; `answers`
    gathers the answers by step number (later steps' placeholders read them)."""
    for step in steps:
        body = await admin.raw(step.document, fill(step.variables, answers))

        assert "errors" not in body, f"step {step.number}: {body}"
        answer = body["data"]
        answers[step.number] = answer
        for claim in step.claims:
            assert holds(claim, answer), f"step {step.number}: {claim} not in {shown(answer)}"
        unclaimed = [e for e in payload_errors(answer) if not any(holds(c, e) for c in step.claims)]
        assert unclaimed == [], f"step {step.number}: errors the README does not show"
        if after_each is not None:
            await after_each()


async def test_every_walkthrough_step_runs_as_written(
    demo: DemoLocation, http: httpx.AsyncClient
) -> None:
    admin = Api(http, demo.api_key, str(demo.location_id))
    text = walkthrough(README.read_text(encoding="utf-8"))
    steps = parse_steps(text)

    await run_steps(admin, steps, {})

    assert len(steps) == len(re.findall(r"\*\*\d+\.\*\*", text)) == 15
    assert [step.number for step in steps if not step.claims] == []


def test_every_walkthrough_step_is_the_text_of_its_trusted_document() -> None:
    steps = parse_steps(walkthrough(README.read_text(encoding="utf-8")))
    files = {path.stem: path.read_text("utf-8") for path in WALKTHROUGH_DOCUMENTS.glob("*.graphql")}
    trusted = [document(step.document.rstrip(), f"step {step.number}") for step in steps]
    shipped = {d.id: d.name for d in trusted_documents(None)}

    assert {d.name: step.document for d, step in zip(trusted, steps, strict=True)} == files
    assert len(files) == len(steps) == 15
    assert [shipped.get(d.id) for d in trusted] == [d.name for d in trusted]


@pytest.fixture
async def demo_with_simulators(
    database: Settings, clock: Clock
) -> AsyncIterator[tuple[Api, InProcessDispatcher]]:
    """`gocrm demo` on port 8000, as the README's integration steps expect it: its location
    seeded with both integrations, and its GoPOS and GoOrder simulators at the URLs it serves
    them on (reached in-process). Jobs run in-process; the caller drains them."""
    # Mounted where `demo_app_factory` mounts them.
    simulators = Starlette(
        routes=[
            Mount(DEMO_SIMULATORS["gopos"], create_gopos_simulator(demo_fixture("gopos"))),
            Mount(DEMO_SIMULATORS["goorder"], create_goorder_simulator(demo_fixture("goorder"))),
        ]
    )

    def transport(base_url: str) -> httpx.AsyncBaseTransport:
        assert base_url.startswith(DEMO_BASE_URL), base_url
        return httpx.ASGITransport(app=simulators)

    runtime = build_runtime(database, clock=clock, transport=transport)
    app = create_app(database, manage_database=False, runtime=runtime)
    upstreams = {kind: f"{DEMO_BASE_URL}{path}" for kind, path in DEMO_SIMULATORS.items()}
    seeded = await seed_demo(runtime, upstreams)
    dispatcher: InProcessDispatcher = app.state.dispatcher
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as http:
            yield Api(http, seeded.api_key, str(seeded.location_id)), dispatcher
    finally:
        await dispatcher.close()
        await close_runtime(runtime)
        await Location.filter(id=seeded.location_id).delete()


async def test_the_integrations_and_checkout_steps_run_as_written_after_the_walkthrough(
    demo_with_simulators: tuple[Api, InProcessDispatcher],
) -> None:
    admin, dispatcher = demo_with_simulators
    readme = README.read_text(encoding="utf-8")
    text = integration_steps(readme)
    steps = parse_steps(text, first=16)
    answers: dict[int, Any] = {}

    await run_steps(admin, parse_steps(walkthrough(readme)), answers)
    await run_steps(admin, steps, answers, after_each=dispatcher.drain)

    assert [step.number for step in steps] == list(range(16, 23))
    assert [step.number for step in steps if not step.claims] == []
    assert "…" not in text  # a pasted ellipsis is a GraphQL syntax error


def test_the_walkthrough_convention_is_parsed() -> None:
    text = """
**1.** Make a thing:

```graphql
mutation { make(name: "A") { thing { id name } errors { code } } }
```

→ `"name": "A"`, and `"thing": {"id": "1", "name": "A"}`; `ADMIN` is not a claim.

**2.** Use it:

```graphql
query($id: ID!) { thing(id: $id) { name } }
```

```json
{"id": "<id from step 1>", "same": "<id of A from step 1>"}
```
"""
    first, second = parse_steps(text)

    assert first.claims == ({"name": "A"}, {"thing": {"id": "1", "name": "A"}})
    assert second.variables == {"id": "<id from step 1>", "same": "<id of A from step 1>"}
    answers = {1: {"make": {"thing": {"id": "T1", "name": "A"}, "errors": []}}}
    assert fill(second.variables, answers) == {"id": "T1", "same": "T1"}


def test_a_claim_the_answer_does_not_hold_is_caught() -> None:
    answer = {"customerGroups": [{"reference": "vip", "customerCount": 30}]}

    assert holds({"reference": "vip", "customerCount": 30}, answer)
    assert not holds({"reference": "vip", "customerCount": 31}, answer)
    assert not holds({"reference": "vip", "name": "VIP"}, answer)


def test_misnumbered_steps_are_refused() -> None:
    text = "**2.** Wrong:\n\n```graphql\n{ viewer { apiKey { name } } }\n```\n"

    with pytest.raises(AssertionError, match="misnumbers"):
        parse_steps(text)


SECTIONS = [
    "## Two commands",
    "## The back-office console",
    "## GraphQL walkthrough",
    "## The `gocrm` command and the import",
    "## Integrations and checkout",
    "## More",
]
MOVED_TO_DOCS = ("configuration.md", "deploying.md", "operations.md", "benchmarks.md", "api.md")
SETUP_COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/gocrm demo",
    'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" && .venv/bin/python -m pytest',
)
LINK = re.compile(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#([\w-]+))?\)")


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_is_short_and_in_the_order_a_newcomer_needs() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()

    assert len(lines) < 450
    assert [line for line in lines if line.startswith("## ")] == SECTIONS
    assert [line for line in lines if line.startswith("# ")] == ["# GoCRM gateway"]


def test_the_two_set_up_commands_stay_as_they_were() -> None:
    blocks = [body.strip() for _, body in FENCE.findall(README.read_text(encoding="utf-8"))]

    assert blocks[:2] == list(SETUP_COMMANDS)


def test_every_link_to_the_docs_reaches_a_file_and_a_heading() -> None:
    readme = README.read_text(encoding="utf-8")
    docs = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md")}
    pages = {f"docs/{name}": text for name, text in docs.items()} | docs
    broken = []
    for text in [readme, *docs.values()]:
        for target, anchor in LINK.findall(text):
            if target.endswith("README.md") or target.startswith("../"):
                continue
            page = pages.get(target)
            headings = [] if page is None else re.findall(r"^#+ (.+)$", page, re.MULTILINE)
            if page is None or (anchor and anchor not in [slug(h) for h in headings]):
                broken.append(f"{target}#{anchor}")

    assert broken == []
    assert {target for target, _ in LINK.findall(readme)} >= {f"docs/{n}" for n in MOVED_TO_DOCS}


def test_the_readme_runs_gocrm_from_the_venv() -> None:
    readme = README.read_text(encoding="utf-8")
    bare = [
        line
        for language, body in FENCE.findall(readme)
        if language == "sh"
        for line in body.splitlines()
        # a command (at the start, or after &&, ;, | or `(`) that is not the venv's
        if re.search(r"(?:^|&&|;|\||\()\s*(?:gocrm|python|pytest)\b", line)
    ]

    assert bare == []


def test_the_readme_says_what_the_tests_touch_and_how_graphiql_gets_the_schema() -> None:
    readme = " ".join(README.read_text(encoding="utf-8").split())
    vendored = ROOT / "gateway" / "graphiql" / "static" / "vendor"

    assert "creates and drops databases named `gocrm_test_*`" in readme
    assert "on the Redis at `GOCRM_TEST_REDIS` (default `redis://127.0.0.1:6379/9`)" in readme
    assert "refuses (the test fails, saying so) one holding keys it did not write" in readme
    # The button the README names is GraphiQL's own.
    assert "press **Re-fetch GraphQL schema**" in readme
    assert any(
        "Re-fetch GraphQL schema" in path.read_text(encoding="utf-8", errors="replace")
        for path in vendored.rglob("graphiql.min.js")
    )
