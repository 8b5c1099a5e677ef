from tests.helpers import Api, create_group


async def test_reference_is_generated_from_a_polish_name(api: Api) -> None:
    group = await create_group(api, "Stały klient")

    assert group["reference"] == "staly-klient"
    assert group["customerCount"] == 0
