import pytest

from digest.errors import InvalidPaperId
from digest.ids import bare_id, is_arxiv_id, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2605.29559", "2605.29559"),
        ("2605.29559v3", "2605.29559"),
        ("  2605.29559 ", "2605.29559"),
        ("0704.0001", "0704.0001"),
        ("arXiv:2605.29559v2", "2605.29559"),
        ("https://arxiv.org/abs/2605.29559v2", "2605.29559"),
        ("https://arxiv.org/pdf/2605.29559.pdf", "2605.29559"),
        ("https://huggingface.co/papers/2605.29559?x=1", "2605.29559"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("math.GT/0309136v1", "math.GT/0309136"),
    ],
)
def test_accepts_ids_and_links(text: str, expected: str) -> None:
    assert parse_arxiv_id(text) == expected
    assert is_arxiv_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2605",
        "2605.123",
        "2605.123456",
        "hello",
        "<b>2605.29559</b>",
        "2605.29559v",
        "../../etc/passwd",
        "HEP-TH/9901001",
        "x" * 10_000,
        "2605.29559; rm -rf /",
    ],
)
def test_rejects_everything_else(text: str) -> None:
    with pytest.raises(InvalidPaperId) as info:
        parse_arxiv_id(text)
    assert not is_arxiv_id(text)
    # The message is one line and never echoes a huge input in full.
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_bare_id_strips_version_only() -> None:
    assert bare_id("2605.00001v12") == "2605.00001"
    assert bare_id("2605.00001") == "2605.00001"
