from pathlib import Path

import pytest

from digest.errors import ProfileError
from digest.profile import example_profile, load_profile


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_loads_a_profile_and_normalises_phrases(tmp_path: Path) -> None:
    p = load_profile(
        write(
            tmp_path,
            'name = "ada"\nlanguage = "en"\n'
            'interests = ["  world   models ", "world models", "RLVR"]\n'
            'avoid = ["speech"]\ncategories = ["cs.LG", "stat.ML"]\ntop_picks = 3\n',
        )
    )
    assert p.interests == ["world models", "RLVR"]
    assert p.categories == ["cs.LG", "stat.ML"] and p.top_picks == 3


def test_language_override_and_profile_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "ada"\ninterests = ["agents"]\n')
    en = load_profile(path)
    zh = load_profile(path, "zh")
    assert en.language == "en" and zh.language == "zh"
    assert en.key != zh.key  # readers share a brief only with the same language
    assert load_profile(path).key == en.key


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('name = "a"\n', "interests"),
        ('name = "a"\ninterests = []\n', "interests"),
        ('name = "a"\ninterests = ["x"]\nlanguage = "fr"\n', "language"),
        ('name = "a"\ninterests = ["x"]\ncategories = ["computer science"]\n', "categories"),
        ('name = "a"\ninterests = ["x"]\ntop_picks = 0\n', "top_picks"),
        ('name = "a"\ninterests = ["x"]\nintrests = ["typo"]\n', "intrests"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_malformed_profiles_fail_clearly(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "nope.toml")


def test_example_profile_is_the_reference_reader() -> None:
    p = example_profile()
    assert p.language == "zh" and p.name == "wenjun"
    assert any("agent" in i.lower() for i in p.interests)
    assert example_profile("en").language == "en"
