"""The README's GraphQL walkthrough runs as written against a freshly seeded demo.

The convention the README follows is stated in an HTML comment at the start of the walkthrough:
numbered ```graphql blocks, each optionally followed by a ```json block of variables whose
`<FIELD from step N>` and `<id of NAME from step N>` placeholders are filled from earlier answers,
and `→` lines whose backticked `"key": value` spans must each match one object in the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.tables.crm import Location
from services.demo import DemoLocation, seed_demo
from services.runtime import Runtime
from settings import Settings
from tests.helpers import Api

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- walkthrough:"
END = "<!-- end of walkthrough -->"
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


def walkthrough(readme: str) -> str:
    start = readme.index(START)
    return COMMENT.sub("", readme[start : readme.index(END, start)])


def parse_steps(text: str) -> list[Step]:
    """The numbered graphql blocks of the walkthrough text, with their variables and claims."""
    steps: list[Step] = []
    blocks = list(FENCE.finditer(text))
    for index, block in enumerate(blocks):
        language, body = block.groups()
        if language != "graphql":
            assert language == "json", f"unexpected ```{language} block in the walkthrough"
            continue
        number = len(steps) + 1
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


async def test_every_walkthrough_step_runs_as_written(
    demo: DemoLocation, http: httpx.AsyncClient
) -> None:
    admin = Api(http, demo.api_key, str(demo.location_id))
    text = walkthrough(README.read_text(encoding="utf-8"))
    steps = parse_steps(text)
    answers: dict[int, Any] = {}

    for step in steps:
        body = await admin.raw(step.document, fill(step.variables, answers))

        assert "errors" not in body, f"step {step.number}: {body}"
        answer = body["data"]
        answers[step.number] = answer
        for claim in step.claims:
            assert holds(claim, answer), f"step {step.number}: {claim} not in {shown(answer)}"
        unclaimed = [e for e in payload_errors(answer) if not any(holds(c, e) for c in step.claims)]
        assert unclaimed == [], f"step {step.number}: errors the README does not show"

    assert len(steps) == len(re.findall(r"\*\*\d+\.\*\*", text)) == 15
    assert [step.number for step in steps if not step.claims] == []


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
