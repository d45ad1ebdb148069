"""The shipped prompt sets and their loaders: counts, parallel ids, concepts, confusers, CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from bench.core.errors import BenchError
from bench.prompts import list_prompt_sets, load_concepts, load_prompt_set, load_set_info
from bench.prompts.validate import validate_all

CULTURES = ("zh", "ko", "ja", "ru", "it")


def test_shipped_sets_are_listed():
    assert {"general", "culture"} <= set(list_prompt_sets())


def test_general_set_is_parallel_and_large_enough():
    english = load_prompt_set("general", "en")
    assert len(english) >= 200
    for lang in CULTURES:
        other = load_prompt_set("general", lang)
        assert [p.id for p in other.prompts] == [p.id for p in english.prompts]
        assert [p.text_en for p in other.prompts] == [p.text for p in english.prompts]
        assert other.content_hash != english.content_hash
        assert all(p.text != p.text_en for p in other.prompts)
    categories = {p.category for p in english.prompts}
    assert {"people", "animals", "food", "vehicles", "indoor", "outdoor", "counting", "colours", "spatial"} <= categories


def test_prompt_set_is_frozen_and_hash_is_stable():
    a = load_prompt_set("general", "ko")
    b = load_prompt_set("general", "ko")
    assert a.content_hash == b.content_hash and len(a.content_hash) == 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.prompts[0].text = "x"
    assert isinstance(a.prompts, tuple) and isinstance(a.prompts[0].tags, tuple)


def test_unknown_set_and_language_are_one_line_errors():
    with pytest.raises(BenchError, match="did you mean 'general'"):
        load_prompt_set("genral", "ko")
    with pytest.raises(BenchError, match="language for prompt set 'culture'") as err:
        load_prompt_set("culture", "en")
    assert "\n" not in str(err.value)


def test_culture_prompts_name_concepts_of_their_culture():
    concepts = load_concepts("culture")
    for lang in CULTURES:
        prompt_set = load_prompt_set("culture", lang)
        assert len(prompt_set) >= 100
        for p in prompt_set.prompts:
            concept = concepts[p.concept]
            assert concept.culture == lang
            assert p.category == concept.category
            # The English pivot names the concept itself, not a paraphrase of it.
            assert concept.label_en.lower() in p.text_en.lower(), p.id
            assert len(p.confusers) >= 3
            others = [concepts[c] for c in p.confusers]
            assert all(c.culture != lang for c in others)
            assert len({c.culture for c in others}) >= 2


def test_dumpling_group_is_shared_across_cultures():
    prompts = {p.concept: p for p in load_prompt_set("culture", "zh").prompts}
    assert {"gyoza", "mandu", "pelmeni", "ravioli"} <= set(prompts["jiaozi"].confusers)
    ko = {p.concept: p for p in load_prompt_set("culture", "ko").prompts}
    assert {"jiaozi", "gyoza", "pelmeni", "ravioli"} <= set(ko["mandu"].confusers)


def test_every_culture_has_every_category():
    wanted = {"food", "clothing", "architecture", "festival", "arts", "objects", "nature"}
    for lang in CULTURES:
        assert {p.category for p in load_prompt_set("culture", lang).prompts} == wanted


def test_shipped_sets_pass_the_validator_including_language_id():
    reports = validate_all(["general", "culture"])
    for report in reports:
        assert report.problems == []
        assert report.ambiguous == []
    assert load_set_info("culture").checks.min_confusers == 3


def test_cli_show_json_and_list():
    from bench.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["prompts", "show", "general", "--lang", "ja", "-n", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["g001", "g002"]
    assert rows[0]["text_en"] == "a woman reading a book on a park bench"
    culture = runner.invoke(app, ["prompts", "show", "culture", "-n", "1", "--json"])
    assert json.loads(culture.output)["id"].startswith("zh-")  # the set's first language by default
    listed = runner.invoke(app, ["prompts", "list"])
    assert listed.exit_code == 0 and "culture" in listed.output
