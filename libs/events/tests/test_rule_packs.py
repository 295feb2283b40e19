"""Rule packs as data (mend_events.rules): every shipped pack loads and is named for what it
holds, the packs differ in real parameters, the pack in force follows the adoptions, and the
difference tool names exactly the rules that changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mend_events import rules
from mend_events.rules.__main__ import main
from mend_events.rules.diff import differences, render

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_shipped_packs_load_and_the_default_is_one_of_them():
    shipped = rules.available()
    assert ("england-wales", 1) in shipped and ("england-wales", 2) in shipped
    assert ("scotland", 1) in shipped
    for pack_id, version in shipped:
        pack = rules.load(pack_id, version)
        assert pack.ref == f"{pack_id}@{version}"
        assert pack.risk.default_validity_days <= pack.risk.max_validity_days
    assert rules.parse_ref(rules.DEFAULT_REF).ref == rules.DEFAULT_REF


def test_unknown_packs_and_malformed_references_are_refused():
    with pytest.raises(rules.UnknownPack):
        rules.load("england-wales", 99)
    for ref in ("england-wales", "england-wales@x", "@1", "nowhere@1"):
        with pytest.raises(rules.UnknownPack):
            rules.parse_ref(ref)


def test_the_pack_in_force_is_the_latest_adopted_by_then():
    adoptions = [(T0 + timedelta(days=10), "scotland@1"), (T0, "england-wales@2")]
    assert rules.in_force([], T0).ref == rules.DEFAULT_REF
    assert rules.in_force(adoptions, T0 - timedelta(seconds=1)).ref == rules.DEFAULT_REF
    assert rules.in_force(adoptions, T0).ref == "england-wales@2"
    assert rules.in_force(adoptions, T0 + timedelta(days=10)).ref == "scotland@1"


def test_the_difference_between_two_versions_names_each_changed_rule():
    v1, v2 = rules.load("england-wales", 1), rules.load("england-wales", 2)
    assert differences(v1, v2) == [
        ("risk.default_validity_days", 90, 42),
        ("risk.max_validity_days", 180, 60),
        ("sessions.min_gap_days_floor", 0, 14),
    ]
    assert differences(v2, v2) == []
    text = render(v1, v2)
    assert text.startswith("england-wales@1 -> england-wales@2: 3 rule(s) differ")
    scotland = rules.load("scotland", 1)
    assert ("reports.min_cell", 5, 10) in differences(v1, scotland)


def test_the_command_line(capsys):
    assert main(["diff", "england-wales@1", "england-wales@2"]) == 0
    assert "risk.max_validity_days: 180 -> 60" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "scotland@1" in capsys.readouterr().out
    assert main(["show", "nowhere@3"]) == 2
    assert "no rule pack nowhere@3" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


def _with(pack: rules.RulePack, part: str, **changes: object) -> dict:
    data = pack.model_dump(mode="json")
    data[part] = {**data[part], **changes}
    return data


@pytest.mark.parametrize(
    "changes",
    [
        {"indirect_only_with_responsible_person": ["face_to_face"]},  # a meeting is not indirect
        {"indirect_only_with_responsible_person": ["unsent_letter"]},  # never with them
        {"indirect_only_with_responsible_person": ["letter", "letter"]},
        {"indirect_only_with_responsible_person": ["telepathy"]},
        {"legal_restrictions": []},
        {"legal_restrictions": ["other_proceedings"]},  # cannot record a carve-out
        {"legal_restrictions": ["protective_order", "protective_order"]},
    ],
)
def test_a_pack_s_decision_rules_are_validated(changes):
    with pytest.raises(ValueError):
        rules.RulePack.model_validate(_with(rules.load("england-wales", 1), "decisions", **changes))


def test_the_packs_differ_in_what_an_indirect_only_decision_permits():
    v1, scotland = rules.load("england-wales", 1), rules.load("scotland", 2)
    assert (
        "decisions.indirect_only_with_responsible_person",
        ["letter", "indirect"],
        ["indirect"],
    ) in differences(v1, scotland)
    text = render(v1, scotland)
    assert "decisions.indirect_only_with_responsible_person: [letter, indirect] -> [indirect]" in (
        text
    )
    # Rules added after a version was published keep the code's behaviour of its time in it.
    assert (
        rules.load("scotland", 1).decisions
        == v1.decisions
        == rules.load("england-wales", 2).decisions
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"direct_contact": ["survivor_specialist", "survivor_specialist"]},
        {"direct_with_responsible_person": ["survivor_specialist"]},  # a role filled twice
        {"indirect_with_responsible_person": ["hsb_specialist", "hsb_specialist"]},
        {"direct_contact": ["astrologer"]},
    ],
)
def test_a_pack_s_team_rules_are_validated(changes):
    with pytest.raises(ValueError):
        rules.RulePack.model_validate(_with(rules.load("england-wales", 1), "team", **changes))


def test_scotland_puts_a_specialist_on_the_team_of_indirect_contact_with_them():
    v1, scotland = rules.load("england-wales", 1), rules.load("scotland", 2)
    assert ("team.indirect_with_responsible_person", [], ["hsb_specialist"]) in differences(
        v1, scotland
    )
    assert v1.team.direct_contact == scotland.team.direct_contact == ("survivor_specialist",)


def test_a_pack_s_factor_rules_are_validated():
    v1 = rules.load("england-wales", 1)
    weights = v1.model_dump(mode="json")["factors"]["weights"]
    for changes in (
        {"required": ["self_harm", "self_harm"]},
        {"required": ["astrology"]},
        {"weights": {k: w for k, w in weights.items() if k != "self_harm"}},  # every kind
        {"weights": {**weights, "self_harm": 11}},
        {"weights": {**weights, "self_harm": -1}},
    ):
        with pytest.raises(ValueError):
            rules.RulePack.model_validate(_with(v1, "factors", **changes))
    scotland2 = rules.load("scotland", 2)
    assert ("factors.weights.self_harm", 8, 9) in differences(rules.load("scotland", 1), scotland2)
    assert "factors.required: [] -> [coercive_control, ongoing_relationship" in render(
        v1, scotland2
    )
