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


def test_interests_may_carry_display_labels(tmp_path: Path) -> None:
    p = load_profile(
        write(
            tmp_path,
            'name = "wenjun"\nlanguage = "zh"\ntimezone = "Asia/Shanghai"\n'
            'interests = ["code intelligence", '
            '{ phrase = "agentic  RL", label = "智能体强化学习" }]\n'
            '[labels]\n"code intelligence" = "代码智能"\n',
        )
    )
    # The phrases are what the ranking matches (English); the labels what the brief says.
    assert p.interests == ["code intelligence", "agentic RL"]
    assert p.label("agentic RL") == "智能体强化学习"
    assert p.label("code intelligence") == "代码智能"
    assert p.label("not an interest") == "not an interest"
    assert p.timezone == "Asia/Shanghai"
    # Labels are in the file's language: an English brief of the same file shows phrases.
    en = load_profile(tmp_path / "p.toml", "en")
    assert en.label("agentic RL") == "agentic RL"
    assert en.key != p.key


def test_labels_and_time_zone_are_part_of_the_key(tmp_path: Path) -> None:
    base = 'name = "a"\ninterests = ["agents"]\n'
    plain = load_profile(write(tmp_path, base))
    labelled = load_profile(write(tmp_path, base + '[labels]\nagents = "Agents!"\n'))
    zoned = load_profile(write(tmp_path, base + 'timezone = "Europe/Paris"\n'))
    assert len({plain.key, labelled.key, zoned.key}) == 3
    assert plain.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('name = "a"\ninterests = ["x"]\ntimezone = "Mars/Olympus"\n', "time zone"),
        ('name = "a"\ninterests = [{ label = "no phrase" }]\n', "interest"),
        ('name = "a"\ninterests = [{ phrase = "x", colour = "red" }]\n', "interest"),
    ],
)
def test_bad_labels_and_zones_fail_clearly(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert fragment in str(info.value)


def test_a_chinese_only_phrase_is_flagged_as_unmatchable(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, 'name = "a"\ninterests = ["智能体强化学习", "RL 后训练"]\n'))
    assert p.unmatchable == ["智能体强化学习"]  # "RL 后训练" still has an English word


def test_example_profile_labels_every_interest_in_chinese() -> None:
    p = example_profile()
    assert p.timezone == "Asia/Shanghai"
    assert set(p.labels) == set(p.interests)
    assert all(p.label(i) != i or i == "LLM agents" for i in p.interests)
    assert not p.unmatchable
    assert example_profile("en").label("agentic reinforcement learning") == (
        "agentic reinforcement learning"
    )
